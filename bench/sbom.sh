#!/usr/bin/env bash
# sbom.sh — the SBOM benchmark: Vigil against Syft and OSV-SCALIBR on the same
# inputs (see bench/README.md). One run installs what is missing, builds the
# corpora once (cached), measures every tool, compares the package sets and
# writes bench/RESULTS.md and bench/results/*.md.
#
# Environment:
#   VIGIL_BENCH_CACHE   corpora, peer binaries and run logs
#                       (default ~/.cache/vigil-bench)
#   VIGIL_BENCH_RUNS    measured runs per tool and corpus, after one warm-up
#                       (default 3; the median is reported)
#   VIGIL_BENCH_OUT     where RESULTS.md and results/ go (default bench/)
#   VIGIL_BENCH_ONLY    space-separated corpora to run (default: all)
#   VIGIL_BENCH_REV     build Vigil from this git revision (e.g. HEAD) instead
#                       of the working tree
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
runs=${VIGIL_BENCH_RUNS:-3}
out=${VIGIL_BENCH_OUT:-$repo/bench}
only=${VIGIL_BENCH_ONLY:-}
# The Debian root and the Go binaries are internal/fixture builds; keep them
# with the corpora unless the caller shares a fixture cache.
export VIGIL_FIXTURE_CACHE=${VIGIL_FIXTURE_CACHE:-$cache/fixtures}

syft_pkg=github.com/anchore/syft/cmd/syft
syft_version=v1.18.1
scalibr_pkg=github.com/google/osv-scalibr/binary/scalibr
scalibr_version=v0.5.3

bin=$cache/bin
work=$cache/runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$bin" "$work/sbom" "$work/logs"

say() { echo "sbom.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# 1. Programs: GNU time for peak RSS, debootstrap and npm for the corpora.
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
command -v debootstrap >/dev/null || need_apt+=(debootstrap)
command -v tar >/dev/null || need_apt+=(tar)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
	say "installing ${need_apt[*]} with apt-get"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

# modversion prints the main module version a Go binary was built from.
modversion() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }

# Peers, pinned, from the Go module proxy; reinstalled only when missing or
# of another version.
install_peer() { # name package version
	if [ -x "$bin/$1" ] && [ "$(modversion "$bin/$1")" = "$3" ]; then
		return
	fi
	say "installing $2@$3 into $bin"
	GOBIN=$bin GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go install "$2@$3"
}
install_peer syft "$syft_pkg" "$syft_version"
install_peer scalibr "$scalibr_pkg" "$scalibr_version"

# 2. Vigil from this tree (or from $VIGIL_BENCH_REV), and the benchmark's
# helper.
if [ -n "${VIGIL_BENCH_REV:-}" ]; then
	rev=$(git rev-parse --short "$VIGIL_BENCH_REV")
	src=$(mktemp -d)
	trap 'rm -rf "$src"' EXIT
	git archive "$rev" | tar -x -C "$src"
	vigil_src="git revision $rev"
else
	rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git status --porcelain 2>/dev/null | head -1)" ]; then
		rev=$rev-dirty
	fi
	src=$repo
	vigil_src="the working tree"
fi
say "building vigil ($rev) and sbombench"
(cd "$src" && go build -ldflags "-X main.version=$rev" -o "$work/vigil" ./cmd/vigil) ||
	die "go build ./cmd/vigil failed; nothing measured"
go build -o "$work/sbombench" ./bench/cmd/sbombench

# 3. Corpora (built once, cached under $cache/corpora).
say "building or finding corpora under $cache/corpora"
"$work/sbombench" corpus -cache "$cache/corpora" -only "$only" -out "$work/corpora.tsv"

# 4. Measurements. Every tool runs once unmeasured (warm page cache, same for
# all) and then $runs times. Wall time is taken around GNU time with bash's
# microsecond clock (GNU time's own %e has only 10 ms resolution, too coarse
# for the small corpus); peak RSS is GNU time's %M, and the CPU time the tool
# used (%U + %S) goes into the results' estimate of how much other work ran
# on the machine meanwhile (busy CPU time from /proc/stat minus ours).
# Vigil's first scan starts from an empty --cache-dir every run; its re-scan
# reuses the cache the first scans filled.
export SYFT_CHECK_FOR_APP_UPDATE=false
printf 'corpus\ttool\trun\twall_s\tmaxrss_kb\tcpu_s\texit\n' >"$work/times.tsv"

# cpustat prints the machine's busy CPU time so far (user, nice, system, irq,
# softirq), in clock ticks, and the time now: "ticks seconds".
cpustat() {
	awk -v now="$EPOCHREALTIME" '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, now; exit }' /proc/stat
}

measure() { # corpus tool prep-command -- command...
	local corpus=$1 tool=$2 prep=$3
	shift 4
	local i rc t0 t1 wall rss cpu
	for i in $(seq 0 "$runs"); do
		[ -z "$prep" ] || eval "$prep"
		rc=0
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M %U %S' -o "$work/time.out" "$@" \
			>"$work/logs/$corpus-$tool-$i.log" 2>&1 || rc=$?
		t1=$EPOCHREALTIME
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		read -r rss cpu < <(tail -n 1 "$work/time.out" | awk '{ print $1, $2 + $3 }')
		printf '%s\t%s\t%d\t%s\t%s\t%s\t%d\n' "$corpus" "$tool" "$i" "$wall" "$rss" "$cpu" "$rc" >>"$work/times.tsv"
		say "$corpus $tool run $i: $wall s, $rss KiB, exit $rc"
	done
}

{
	echo -e "date\t$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo -e "runs\t$runs"
	echo -e "cache\t$cache"
	echo -e "vigil\t$rev"
	echo -e "vigil_src\t$vigil_src"
	echo -e "syft\t$(modversion "$bin/syft")"
	echo -e "scalibr\t$(modversion "$bin/scalibr")"
	echo -e "go\t$(go env GOVERSION)"
	echo -e "npm\t$(npm --version 2>/dev/null)"
	echo -e "loadavg_start\t$(cut -d' ' -f1-3 /proc/loadavg)"
	echo -e "clk_tck\t$(getconf CLK_TCK)"
	echo -e "cpustat_start\t$(cpustat)"
} >"$work/env.tsv"

while IFS=$'\t' read -r corpus kind path _; do
	sb=$work/sbom/$corpus
	vcache=$work/vigil-cache-$corpus
	case $kind in
	image)
		measure "$corpus" vigil "rm -rf '$vcache'; mkdir -p '$vcache'" -- \
			"$work/vigil" scan image "$path" --no-vulns --format cyclonedx --output "$sb-vigil.json" --cache-dir "$vcache"
		measure "$corpus" vigil-rescan "" -- \
			"$work/vigil" scan image "$path" --no-vulns --format cyclonedx --output "$sb-vigil-rescan.json" --cache-dir "$vcache"
		measure "$corpus" vigil-nocache "" -- \
			"$work/vigil" scan image "$path" --no-vulns --format cyclonedx --output "$sb-vigil-nocache.json" --no-cache
		measure "$corpus" syft "" -- \
			"$bin/syft" scan "docker-archive:$path" -o "cyclonedx-json=$sb-syft.json" -q
		measure "$corpus" scalibr "" -- \
			"$bin/scalibr" --image-tarball "$path" --plugins=extractors/default --offline -o "cdx-json=$sb-scalibr.json"
		;;
	dir)
		measure "$corpus" vigil "" -- \
			"$work/vigil" scan rootfs "$path" --no-vulns --format cyclonedx --output "$sb-vigil.json"
		measure "$corpus" syft "" -- \
			"$bin/syft" scan "dir:$path" -o "cyclonedx-json=$sb-syft.json" -q
		measure "$corpus" scalibr "" -- \
			"$bin/scalibr" --root "$path" --plugins=extractors/default --offline -o "cdx-json=$sb-scalibr.json"
		;;
	*) die "corpus $corpus: unknown kind $kind" ;;
	esac
	rm -rf "$vcache"
done <"$work/corpora.tsv"
{
	echo -e "cpustat_end\t$(cpustat)"
	echo -e "loadavg_end\t$(cut -d' ' -f1-3 /proc/loadavg)"
} >>"$work/env.tsv"

# 5. Results.
"$work/sbombench" results -work "$work" -out "$out"
cat >>"$out/RESULTS.md" <<'EOF2'

## Vulnerability matching (issue 3)

Accuracy and speed of vulnerability matching, side by side with osv-scanner,
are written by `bash bench/vulns.sh` to [VULNS.md](VULNS.md).
EOF2
rm -f "$work/vigil" "$work/sbombench"
# Keep the five newest runs' SBOMs and logs.
find "$cache/runs" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5 | xargs -r rm -rf
say "done: $out/RESULTS.md (logs and SBOMs in $work)"
