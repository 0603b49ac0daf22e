#!/bin/sh
echo ${name}
