#!/usr/bin/env bash
# test-deps.sh installs every Debian package the test suite's fixture
# builders need (internal/fixture). It is idempotent: packages already
# installed are left alone, and apt is only touched when something is
# missing. Run as root (CI and the developer machines are).
set -euo pipefail

# One line per package, with the fixture that needs it.
pkgs=(
	debootstrap      # fixture.DebianRoot: a real bullseye minbase root
	busybox-static   # fixture.BusyboxRoot
	rpm              # fixture RPM databases (sqlite and ndb), rpmbuild
	db5.3-util       # db5.3_load: the Berkeley DB rpmdb (rpm 4.18 cannot write it)
	sqlite3          # export header blobs from rpmdb.sqlite
	dpkg             # dpkg-query, the oracle for the Debian root
	tar              # fixture.DebianRootTar
	python3-requests # fixture.PythonSite: real dist-info/egg-info metadata
	ruby             # fixture.RubySpecs: real installed gemspecs; the Ruby oracle
	libcommons-lang3-java # fixture.JavaJars: a real jar with pom.properties
	time             # bench/: GNU time for peak RSS
	postgresql       # internal/store: the PostgreSQL dialect (scripts/postgres.sh starts it)
	iproute2         # internal/server: TestNetworkCut's namespace and veth pair
	clang            # internal/sensor: TestCompatSyscalls builds an int 0x80 program
	systemd          # deploy: systemd-analyze verify of the unit files
	chromium         # internal/console: the browser test (chromedp drives /usr/bin/chromium)
	fonts-wqy-microhei # internal/console: Chinese glyphs in the screenshots
)

missing=()
for p in "${pkgs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "test-deps: all ${#pkgs[@]} packages present"
	exit 0
fi

echo "test-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
