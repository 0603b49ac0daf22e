#!/usr/bin/env bash
# vulns.sh — the vulnerability matching benchmark: Vigil against osv-scanner
# on the same advisories (the shared data) and the same inputs. One run
# installs what is missing, builds both databases and the inputs, checks
# accuracy, measures speed and writes bench/VULNS.md (see that file).
#
# osv-scanner runs fully offline: --experimental-offline (no downloads, no
# git, no deps.dev), --no-call-analysis=all (govulncheck would run `go` on
# the sources), a local database made from the shared data, and — to prove
# it — inside a network namespace with no interfaces (`unshare -n`), so it
# cannot reach anything even if it tried. Vigil runs the same way.
#
# Environment:
#   VIGIL_BENCH_CACHE   peer binaries, fixtures and run directories
#                       (default ~/.cache/vigil-bench)
#   VIGIL_BENCH_RUNS    measured runs per tool and input, after one warm-up
#                       (default 3; the median is reported)
#   VIGIL_BENCH_DATA    the shared advisories (default ../shared/data/advisories)
#   VIGIL_BENCH_VULNS_OUT  the report to write (default bench/VULNS.md)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
runs=${VIGIL_BENCH_RUNS:-3}
data=${VIGIL_BENCH_DATA:-$repo/../shared/data/advisories}
out=${VIGIL_BENCH_VULNS_OUT:-$repo/bench/VULNS.md}
export VIGIL_FIXTURE_CACHE=${VIGIL_FIXTURE_CACHE:-$cache/fixtures}

osv_pkg=github.com/google/osv-scanner/cmd/osv-scanner
osv_version=v1.9.2

bin=$cache/bin
work=$cache/vulns/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$bin" "$work/logs" "$work/out" "$work/cmp"

say() { echo "vulns.sh: $*" >&2; }
die() { say "$*"; exit 1; }

[ -d "$data/osv-go" ] || die "no advisories at $data (set VIGIL_BENCH_DATA)"
data=$(cd "$data" && pwd)

# 1. Programs: GNU time for peak RSS; unshare (util-linux) for the network
# namespace, which needs root.
if [ ! -x /usr/bin/time ]; then
	say "installing time with apt-get"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends time
fi
offline=(unshare -n)
if ! unshare -n true 2>/dev/null; then
	die "cannot create a network namespace (unshare -n; run as root): refusing to run osv-scanner with network access"
fi

modversion() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }
if [ ! -x "$bin/osv-scanner" ] || [ "$(modversion "$bin/osv-scanner")" != "$osv_version" ]; then
	say "installing $osv_pkg@$osv_version into $bin"
	GOBIN=$bin GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go install "$osv_pkg@$osv_version"
fi

# 2. Vigil from this tree, and the benchmark's helper.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- cmd internal go.mod go.sum 2>/dev/null | head -1)" ]; then
	rev=$rev-dirty
fi
say "building vigil ($rev) and vulnbench"
go build -ldflags "-X main.version=$rev" -o "$work/vigil" ./cmd/vigil ||
	die "go build ./cmd/vigil failed; nothing measured"
go build -o "$work/vulnbench" ./bench/cmd/vulnbench

# 3. Measurement: one unmeasured warm-up, then $runs runs. Wall time from
# bash's microsecond clock around GNU time; peak RSS from GNU time (%M).
printf 'input\ttool\trun\twall_s\tmaxrss_kb\tcpu_s\texit\n' >"$work/times.tsv"
measure() { # input tool stdout-file prep-command -- command...
	local input=$1 tool=$2 stdout=$3 prep=$4
	shift 5
	local i rc t0 t1 wall rss cpu
	for i in $(seq 0 "$runs"); do
		[ -z "$prep" ] || eval "$prep"
		rc=0
		t0=$EPOCHREALTIME
		/usr/bin/time -f '%M %U %S' -o "$work/time.out" "${offline[@]}" "$@" \
			>"$stdout" 2>"$work/logs/$input-$tool-$i.log" || rc=$?
		t1=$EPOCHREALTIME
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		read -r rss cpu < <(tail -n 1 "$work/time.out" | awk '{ print $1, $2 + $3 }')
		printf '%s\t%s\t%d\t%s\t%s\t%s\t%d\n' "$input" "$tool" "$i" "$wall" "$rss" "$cpu" "$rc" >>"$work/times.tsv"
		say "$input $tool run $i: $wall s, $rss KiB, exit $rc"
	done
}

{
	echo -e "date\t$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo -e "runs\t$runs"
	echo -e "vigil\t$rev"
	echo -e "osv-scanner\t$(modversion "$bin/osv-scanner")"
	echo -e "go\t$(go env GOVERSION)"
	echo -e "nproc\t$(nproc)"
	echo -e "mem_kb\t$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	echo -e "cpu\t$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo -e "kernel\t$(uname -r)"
	echo -e "loadavg_start\t$(cut -d' ' -f1-3 /proc/loadavg)"
	echo -e "data\t$data"
} >"$work/env.tsv"

# 4. Databases. Vigil's build is measured (a fresh file every run);
# osv-scanner's offline database is the shared OSV records zipped per
# ecosystem, as the OSV bulk exports are (PyPI's YAML converted to JSON).
measure db-build vigil /dev/null "rm -f '$work/vigil.db'" -- \
	"$work/vigil" db build --from "$data" --db "$work/vigil.db"
"$work/vigil" db info --db "$work/vigil.db" >"$work/dbinfo.txt"
"$work/vulnbench" osvdb -advisories "$data" -out "$work/osvdb" >"$work/osvdb.tsv"

# 5. Inputs: accuracy lock files, a Go binary in an image, two SBOMs.
in=$work/inputs
"$work/vulnbench" inputs -advisories "$data" -out "$in/accuracy"
"$work/vulnbench" gobin -out "$in/gobin.tar" >"$work/gobin.txt"
"$work/vulnbench" sbom -advisories "$data" -mix debian=1000,go=1600,pypi=1300,crates=1100 -out "$in/sbom-mixed.cdx.json"
"$work/vulnbench" sbom -advisories "$data" -mix debian=0,go=2000,pypi=1650,crates=1350 -out "$in/sbom-lang.cdx.json"

osv=("$bin/osv-scanner" --experimental-offline --experimental-local-db-path "$work/osvdb"
	--no-call-analysis=all --no-ignore --format json)
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# 6. Accuracy: both tools on the same inputs (osv-scanner exits 1 when it
# finds vulnerabilities, Vigil 0).
runs_saved=$runs
runs=0
measure accuracy vigil "$work/out/accuracy-vigil.json" "" -- \
	"$work/vigil" scan rootfs "$in/accuracy" --db "$work/vigil.db" -f json
measure accuracy osv-scanner "$work/out/accuracy-osv-scanner.json" "" -- \
	"${osv[@]}" -r "$in/accuracy"
measure gobin vigil "$work/out/gobin-vigil.json" "" -- \
	"$work/vigil" scan image "$in/gobin.tar" --db "$work/vigil.db" --no-cache -f json
measure gobin osv-scanner "$work/out/gobin-osv-scanner.json" "" -- \
	"${osv[@]}" --experimental-oci-image "$in/gobin.tar"
runs=$runs_saved

# 7. Speed: the two SBOMs.
for s in mixed lang; do
	measure "sbom-$s" vigil "$work/out/sbom-$s-vigil.json" "" -- \
		"$work/vigil" scan sbom "$in/sbom-$s.cdx.json" --db "$work/vigil.db" -f json
	measure "sbom-$s" osv-scanner "$work/out/sbom-$s-osv-scanner.json" "" -- \
		"${osv[@]}" --sbom "$in/sbom-$s.cdx.json"
done
echo -e "loadavg_end\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/env.tsv"

# 8. Compare findings and write the report.
for input in accuracy gobin sbom-mixed sbom-lang; do
	"$work/vulnbench" compare -advisories "$data" -input "$input" \
		-vigil "$work/out/$input-vigil.json" -osv "$work/out/$input-osv-scanner.json" \
		-out "$work/cmp/$input.json"
done
"$work/vulnbench" debcheck -advisories "$data" -input sbom-mixed \
	-sbom "$in/sbom-mixed.cdx.json" -vigil "$work/out/sbom-mixed-vigil.json" \
	-out "$work/cmp/sbom-mixed-debian.json"
"$work/vulnbench" report -work "$work" -out "$out"
say "wrote $out (run directory $work)"
