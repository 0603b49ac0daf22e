#!/usr/bin/env bash
# iac.sh — the configuration scanning benchmark (issue 6): `vigil scan
# config` against tfsec and KICS on the same generated corpora, in one run.
# Writes bench/IAC.md.
#
# Corpora (bench/cmd/iacbench, cached under $cache/corpora by version, seed
# and size): Terraform of 1,000, 5,000 and 30,000 files (stacks with
# variables, tfvars, locals, local modules called with for_each, count,
# dynamic blocks, functions) and 10,000 Kubernetes manifests.
#
# Peers, pinned and installed here (never committed):
#   tfsec  github.com/aquasecurity/tfsec/cmd/tfsec@v1.26.0
#   KICS   github.com/Checkmarx/kics/v2/cmd/console@v2.2.0, run with -q at its
#          module's assets/queries
#
# Environment:
#   VIGIL_BENCH_CACHE        peers, corpora and run directories (~/.cache/vigil-bench)
#   VIGIL_BENCH_RUNS         measured runs of Vigil per corpus (default 3; median)
#   VIGIL_BENCH_WARMUP       unmeasured runs first (default 1)
#   VIGIL_BENCH_PEER_RUNS    measured runs of each peer (default 1)
#   VIGIL_BENCH_TIMEOUT      seconds before a run is stopped (default 2400)
#   VIGIL_BENCH_IAC_CORPORA  corpora to run (default "tf1000 tf5000 tf30000 k8s10000")
#   VIGIL_BENCH_IAC_OUT      the report (default bench/IAC.md)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
runs=${VIGIL_BENCH_RUNS:-3}
warmup=${VIGIL_BENCH_WARMUP:-1}
peer_runs=${VIGIL_BENCH_PEER_RUNS:-1}
timeout_s=${VIGIL_BENCH_TIMEOUT:-2400}
corpora=${VIGIL_BENCH_IAC_CORPORA:-tf1000 tf5000 tf30000 k8s10000}
out=${VIGIL_BENCH_IAC_OUT:-$repo/bench/IAC.md}

tfsec_pkg=github.com/aquasecurity/tfsec/cmd/tfsec
tfsec_version=v1.26.0
kics_mod=github.com/Checkmarx/kics/v2
kics_version=v2.2.0

bin=$cache/bin
work=$cache/iac/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$bin" "$work/logs" "$work/out" "$cache/corpora"
say() { echo "iac.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# 1. Tools.
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
if [ ${#need_apt[@]} -gt 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
modversion() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }
if [ "$(modversion "$bin/tfsec")" != "$tfsec_version" ]; then
	say "installing tfsec $tfsec_version"
	GOBIN=$bin go install "$tfsec_pkg@$tfsec_version"
fi
if [ "$(modversion "$bin/console")" != "$kics_version" ]; then
	say "installing KICS $kics_version"
	GOBIN=$bin go install "$kics_mod/cmd/console@$kics_version"
fi
GOFLAGS=-mod=mod go mod download "$kics_mod@$kics_version" >/dev/null 2>&1 || true
queries=$(go env GOMODCACHE)/github.com/!checkmarx/kics/v2@$kics_version/assets/queries
[ -d "$queries" ] || die "KICS queries not found at $queries"
rev=$(git -C "$repo" describe --always --dirty 2>/dev/null || echo unknown)
go build -o "$work/vigil" ./cmd/vigil
go build -o "$work/iacbench" ./bench/cmd/iacbench

# 2. Corpora.
printf 'name\tfiles\tdir\n' >"$work/corpora.tsv"
for c in $corpora; do
	case $c in
	tf*) n=${c#tf} kind=tf ;;
	k8s*) n=${c#k8s} kind=k8s ;;
	*) die "unknown corpus $c" ;;
	esac
	dir=$cache/corpora/iac-$kind-v1-seed7-$n
	if [ ! -d "$dir" ]; then
		say "generating $dir"
		"$work/iacbench" "gen-$kind" -files "$n" -out "$dir.tmp" -seed 7
		mv "$dir.tmp" "$dir"
	fi
	printf '%s\t%s\t%s\n' "$c" "$(find "$dir" -type f | wc -l)" "$dir" >>"$work/corpora.tsv"
done

# 3. Measurements.
printf 'corpus\ttool\trun\twall_s\tmaxrss_kb\texit\n' >"$work/times.tsv"
printf 'corpus\ttool\tfindings\tfiles\n' >"$work/counts.tsv"
printf 'corpus\ttool\tnote\n' >"$work/notes.tsv"
measure() { # corpus tool nruns nwarm -- command... (REPORT replaced by the report path)
	local c=$1 tool=$2 n=$3 w=$4
	shift 5
	local i rc t0 t1 wall rss report args a
	for i in $(seq $((1 - w)) "$n"); do
		report=$work/out/$c-$tool-$i
		args=()
		for a in "$@"; do args+=("${a//REPORT/$report}"); done
		rc=0
		t0=$EPOCHREALTIME
		(cd "$work" && timeout "$timeout_s" /usr/bin/time -f '%M' -o "$work/time.out" "${args[@]}" \
			>"$work/logs/$c-$tool-$i.log" 2>&1) || rc=$?
		t1=$EPOCHREALTIME
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		rss=$(tail -n 1 "$work/time.out" 2>/dev/null | awk '{ print $1 + 0 }')
		if [ "$rc" = 124 ]; then
			printf '%s\t%s\ttimed out after %s s\n' "$c" "$tool" "$timeout_s" >>"$work/notes.tsv"
		fi
		if [ "$i" -ge 1 ]; then printf '%s\t%s\t%d\t%s\t%s\t%d\n' "$c" "$tool" "$i" "$wall" "${rss:-0}" "$rc" >>"$work/times.tsv"; fi
		say "$c $tool run $i: $wall s, ${rss:-?} KiB, exit $rc"
		if [ "$rc" = 124 ]; then break; fi
	done
}
count() { # corpus tool reportfile
	if [ -s "$3" ]; then
		printf '%s\t%s\t%s\n' "$1" "$2" "$("$work/iacbench" count -tool "$2" -report "$3")" >>"$work/counts.tsv"
	fi
}

{
	echo -e "date\t$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo -e "runs\t$runs"
	echo -e "warmup\t$warmup"
	echo -e "peer_runs\t$peer_runs"
	echo -e "vigil\t$rev"
	echo -e "peers\ttfsec $(modversion "$bin/tfsec"), KICS $(modversion "$bin/console")"
	echo -e "go\t$(go env GOVERSION)"
	echo -e "nproc\t$(nproc)"
	echo -e "mem_kb\t$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	echo -e "cpu\t$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo -e "kernel\t$(uname -r)"
	echo -e "loadavg_start\t$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$work/env.tsv"

while IFS=$'\t' read -r c n dir; do
	[ "$c" = name ] && continue
	measure "$c" vigil "$runs" "$warmup" -- "$work/vigil" scan config "$dir" --format json -o REPORT.json
	count "$c" vigil "$work/out/$c-vigil-$runs.json"
	if [[ $c == tf* ]]; then
		measure "$c" tfsec "$peer_runs" 0 -- "$bin/tfsec" "$dir" --soft-fail --no-color --format json --out REPORT.json
		count "$c" tfsec "$work/out/$c-tfsec-$peer_runs.json"
		ktype=Terraform
	else
		ktype=Kubernetes
	fi
	measure "$c" kics "$peer_runs" 0 -- "$bin/console" scan -p "$dir" -q "$queries" --type "$ktype" \
		-o REPORT --output-name results --report-formats json --no-progress \
		--ignore-on-exit all --log-level ERROR
	count "$c" kics "$work/out/$c-kics-$peer_runs/results.json"
done <"$work/corpora.tsv"
echo -e "loadavg_end\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/env.tsv"

"$work/iacbench" report -work "$work" -out "$out"
rm -f "$work/vigil" "$work/iacbench"
find "$work/out" -type f -size +20M -delete
find "$cache/iac" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5 | xargs -r rm -rf
say "wrote $out (run directory $work)"
