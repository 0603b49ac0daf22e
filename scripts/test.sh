#!/usr/bin/env bash
# Runs Vigil's whole test suite against real components.
#
# It installs what the tests need (idempotent apt-get), starts a Docker
# engine if none answers, then runs every Go test and prints gotestsum's
# summary. Under CI (CI=true) VIGIL_REQUIRE_FIXTURES=1 turns every "skipped:
# tool unavailable" into a failure, so a green run means everything ran.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CI:-}" ]; then
	export VIGIL_REQUIRE_FIXTURES="${VIGIL_REQUIRE_FIXTURES:-1}"
fi

bash scripts/test-deps.sh
# One PostgreSQL for every test binary that runs the store against it.
if [ -z "${VIGIL_TEST_POSTGRES:-}" ]; then
	if url=$(bash scripts/postgres.sh); then
		export VIGIL_TEST_POSTGRES="$url"
	else
		echo "test.sh: PostgreSQL did not start; PostgreSQL tests will skip (or fail under CI)" >&2
	fi
fi
if ! bash scripts/dockerd.sh; then
	echo "test.sh: no Docker engine; Docker tests will skip (or fail under CI)" >&2
fi

exec go run gotest.tools/gotestsum@v1.13.0 --format pkgname-and-test-fails -- \
	-timeout 60m ./...
