#!/bin/sh
# Pushes the release notes.
export GITHUB_TOKEN=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
curl -H "Authorization: token $GITHUB_TOKEN" https://api.github.com/user
