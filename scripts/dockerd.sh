#!/bin/sh
# dockerd.sh: make sure a local Docker Engine answers on /var/run/docker.sock,
# for the integration tests that need one (internal/image TestDockerEngine).
#
# Idempotent: installs docker.io and busybox-static with apt only if they are
# missing, and starts dockerd in the background (log: /tmp/vigil-dockerd.log)
# only if `docker info` fails. Waits up to 60 s for the Engine. Exits non-zero
# with a message if anything fails. Needs root. Pulls nothing from any
# registry: tests build their images locally.
set -eu

LOG=/tmp/vigil-dockerd.log
WAIT=60

die() {
	echo "dockerd.sh: $*" >&2
	exit 1
}

[ "$(id -u)" -eq 0 ] || die "must run as root"

# install PKG...: apt-get install, updating the package lists first if apt
# does not know one of the packages.
install() {
	for pkg in "$@"; do
		if ! apt-cache show "$pkg" >/dev/null 2>&1; then
			apt-get update -q || die "apt-get update failed"
			break
		fi
	done
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || die "apt-get install $* failed"
}

missing=""
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
command -v docker >/dev/null 2>&1 || missing="$missing docker.io"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "ok installed" || missing="$missing busybox-static"
if [ -n "$missing" ]; then
	# shellcheck disable=SC2086 # word splitting wanted; duplicates are harmless
	install $(echo $missing | tr ' ' '\n' | sort -u)
fi

if docker info >/dev/null 2>&1; then
	echo "dockerd.sh: Docker Engine already running"
	exit 0
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
	echo "dockerd.sh: starting dockerd (log: $LOG)"
	nohup dockerd >"$LOG" 2>&1 &
fi

i=0
while [ "$i" -lt "$WAIT" ]; do
	if docker info >/dev/null 2>&1; then
		echo "dockerd.sh: Docker Engine ready after ${i}s"
		exit 0
	fi
	i=$((i + 1))
	sleep 1
done
echo "dockerd.sh: last lines of $LOG:" >&2
tail -n 20 "$LOG" >&2 2>/dev/null || true
die "Docker Engine did not answer within ${WAIT}s"
