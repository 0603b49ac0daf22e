#!/usr/bin/env bash
# build.sh builds Vigil's two binaries, vigil and vigil-agent, as static
# executables (CGO_ENABLED=0, -trimpath, stripped, version stamped) and
# stages the container build context for deploy/Dockerfile next to them.
#
#   scripts/build.sh                        # into dist/, version from git
#   VERSION=1.2.3 scripts/build.sh          # an explicit version
#   DIST=/tmp/out GOARCH=arm64 scripts/build.sh
#
# Writes $DIST/vigil, $DIST/vigil-agent, $DIST/SHA256SUMS, and the few other
# files the scratch images need ($DIST/rootfs/: /etc/passwd, /etc/group,
# /tmp; $DIST/server-state/, $DIST/agent-state/: the state directories). dist/ is build output: never
# commit it. Then, for the images:
#
#   docker build -f deploy/Dockerfile --target server -t vigil-server dist
#   docker build -f deploy/Dockerfile --target agent -t vigil-agent dist
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

die() {
	echo "build.sh: $*" >&2
	exit 1
}

# DIST is taken relative to the caller's directory, like any path argument.
DIST="${DIST:-$root/dist}"
mkdir -p "$DIST"
DIST="$(cd "$DIST" && pwd)"
cd "$root"

VERSION="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
[[ "$VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9._+-]*$ ]] || die "bad VERSION '$VERSION' (letters, digits, . _ + - only)"

export CGO_ENABLED=0
for cmd in vigil vigil-agent; do
	echo "build.sh: building $cmd $VERSION ($(go env GOOS)/$(go env GOARCH)) into $DIST"
	go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$DIST/$cmd.tmp" "./cmd/$cmd" ||
		die "go build ./cmd/$cmd failed"
	mv -f "$DIST/$cmd.tmp" "$DIST/$cmd"
done

# The container build context besides the binaries: rootfs/ is copied into
# both images as root; server-state/ and agent-state/ hold each image's state
# directory, copied into /var/lib (the server's owned by its user). They are
# created here rather than tracked in git, which keeps no empty directories,
# and their modes matter: the images copy them as they are.
rm -rf "$DIST/rootfs" "$DIST/server-state" "$DIST/agent-state"
mkdir -p "$DIST/rootfs/tmp" "$DIST/rootfs/var/lib" "$DIST/server-state/vigil" "$DIST/agent-state/vigil-agent"
cp -R deploy/docker/rootfs/. "$DIST/rootfs/"
chmod 0755 "$DIST/rootfs" "$DIST/rootfs/etc" "$DIST/rootfs/var" "$DIST/rootfs/var/lib" "$DIST/server-state" "$DIST/agent-state"
chmod 0644 "$DIST/rootfs/etc/passwd" "$DIST/rootfs/etc/group"
chmod 1777 "$DIST/rootfs/tmp"
chmod 0700 "$DIST/server-state/vigil" "$DIST/agent-state/vigil-agent"

(cd "$DIST" && sha256sum vigil vigil-agent >SHA256SUMS)
echo "build.sh: done:"
cat "$DIST/SHA256SUMS"
