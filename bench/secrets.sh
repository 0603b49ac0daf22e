#!/usr/bin/env bash
# secrets.sh — the secret scanning benchmark (issue 7): Vigil against
# gitleaks on the same inputs. One run installs what is missing, builds the
# corpora once (cached), measures a directory scan and a git history scan
# with both tools, scores both against the planted ground truth and writes
# bench/SECRETS.md.
#
# Corpora (bench/cmd/secretbench, cached under $cache/corpora, keyed by
# version, seed, size and secret count):
#   dir — at least VIGIL_BENCH_SECRETS_BYTES of source text copied from the
#         Go module cache (text only: binaries, archives, files over 8 MiB
#         dropped), with VIGIL_BENCH_SECRETS_N secrets of 12 types planted
#         into random files at random lines; truth.tsv says where;
#   git — a repository of 5,000 commits (git fast-import) adding the same
#         files in batches; every 50 commits a secret is added to a file and
#         removed again 10 commits later (100 secrets only in the history).
#
# Environment:
#   VIGIL_BENCH_CACHE          peers, corpora and run directories
#                              (default ~/.cache/vigil-bench)
#   VIGIL_BENCH_RUNS           measured runs per tool and input (default 3;
#                              the median is reported)
#   VIGIL_BENCH_WARMUP         unmeasured runs first (default 1)
#   VIGIL_BENCH_SECRETS_BYTES  corpus size (default 1073741824, 1 GiB)
#   VIGIL_BENCH_SECRETS_N      planted secrets (default 1000)
#   VIGIL_BENCH_SECRETS_SEED   seed (default 7)
#   VIGIL_BENCH_SECRETS_OUT    the report (default bench/SECRETS.md)
#   VIGIL_BENCH_ONLY           inputs to run, "dir", "git" (default both)
#   VIGIL_BENCH_PEER_RUNS      measured runs of gitleaks (default: RUNS; a
#   VIGIL_BENCH_PEER_WARMUP    git history scan takes it minutes) and its
#                              warm-up runs (default: WARMUP)
#   VIGIL_BENCH_PEER_FROM      earlier run directories of this script
#                              (space-separated; per input the first that
#                              has it wins): reuse their gitleaks times and
#                              reports instead of measuring gitleaks again;
#                              inputs none of them has are measured
#                              (refused unless the same gitleaks version,
#                              corpora and machine); the report says so
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
runs=${VIGIL_BENCH_RUNS:-3}
warmup=${VIGIL_BENCH_WARMUP:-1}
bytes=${VIGIL_BENCH_SECRETS_BYTES:-1073741824}
nsec=${VIGIL_BENCH_SECRETS_N:-1000}
seed=${VIGIL_BENCH_SECRETS_SEED:-7}
commits=5000
out=${VIGIL_BENCH_SECRETS_OUT:-$repo/bench/SECRETS.md}
only=${VIGIL_BENCH_ONLY:-dir git}
peer_runs=${VIGIL_BENCH_PEER_RUNS:-$runs}
peer_warmup=${VIGIL_BENCH_PEER_WARMUP:-$warmup}

gitleaks_pkg=github.com/zricethezav/gitleaks/v8
gitleaks_version=v8.21.2

bin=$cache/bin
work=$cache/secrets/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$bin" "$work/logs" "$work/out" "$work/cmp" "$cache/corpora"

say() { echo "secrets.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# 1. Programs: GNU time for peak RSS, git for the history corpus.
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
command -v git >/dev/null || need_apt+=(git)
if [ ${#need_apt[@]} -gt 0 ]; then
	say "installing ${need_apt[*]} with apt-get"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

modversion() { go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }'; }
if [ ! -x "$bin/gitleaks" ] || [ "$(modversion "$bin/gitleaks")" != "$gitleaks_version" ]; then
	say "installing $gitleaks_pkg@$gitleaks_version into $bin"
	GOBIN=$bin GOFLAGS=-buildvcs=false GOTOOLCHAIN=local go install "$gitleaks_pkg@$gitleaks_version"
fi

# 2. Vigil from this tree, and the benchmark's helper. Without a working
# `vigil scan secrets` the benchmark still measures and scores gitleaks,
# and the report says Vigil was not measured.
go build -o "$work/secretbench" ./bench/cmd/secretbench
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- cmd internal go.mod go.sum 2>/dev/null | head -1)" ]; then
	rev=$rev-dirty
fi
vigil_ok=1
say "building vigil ($rev)"
if ! go build -ldflags "-X main.version=$rev" -o "$work/vigil" ./cmd/vigil >"$work/logs/vigil-build.log" 2>&1; then
	say "go build ./cmd/vigil failed (see $work/logs/vigil-build.log); measuring gitleaks only"
	vigil_ok=0
elif ! "$work/vigil" scan secrets --help >"$work/logs/vigil-help.log" 2>&1; then
	say "this vigil has no 'scan secrets'; measuring gitleaks only"
	vigil_ok=0
fi

# 3. Corpora, built once.
gib=$(awk -v b="$bytes" 'BEGIN { if (b % 1073741824 == 0) printf "%dGiB", b / 1073741824; else printf "%dB", b }')
dir=$cache/corpora/secrets-dir-v1-seed$seed-n$nsec-$gib
gitc=$cache/corpora/secrets-git-v1-seed$seed-n$nsec-$gib-c$commits
if [ ! -d "$dir" ]; then
	say "building the directory corpus $dir (copies $gib from $(go env GOMODCACHE))"
	"$work/secretbench" corpus -src "$(go env GOMODCACHE)" -out "$dir" -bytes "$bytes" -secrets "$nsec" -seed "$seed"
fi
if [ ! -d "$gitc" ]; then
	say "building the git corpus $gitc ($commits commits)"
	"$work/secretbench" gitrepo -corpus "$dir" -out "$gitc" -commits "$commits" -seed "$seed"
fi
tree=$dir/tree
gitrepo=$gitc/repo
cp "$dir/meta.tsv" "$work/corpus.tsv"

# 4. Measurements: warm-up runs, then $runs runs. Wall time from bash's
# microsecond clock around GNU time; peak RSS from GNU time (%M). Every
# tool runs from the run directory (gitleaks would otherwise read a
# .gitleaksignore from the working directory) and writes its JSON report
# for run i to out/INPUT-TOOL-i.json.
printf 'input\ttool\trun\twall_s\tmaxrss_kb\tcpu_s\texit\n' >"$work/times.tsv"
measure() { # input tool -- command... (REPORT in the command is replaced)
	local input=$1 tool=$2
	shift 3
	local i rc t0 t1 wall rss cpu report args a
	for i in $(seq $((1 - warmup)) "$runs"); do
		report=$work/out/$input-$tool-$i.json
		args=()
		for a in "$@"; do args+=("${a//REPORT/$report}"); done
		rc=0
		t0=$EPOCHREALTIME
		(cd "$work" && /usr/bin/time -f '%M %U %S' -o "$work/time.out" "${args[@]}" \
			>"$work/logs/$input-$tool-$i.log" 2>&1) || rc=$?
		t1=$EPOCHREALTIME
		wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
		read -r rss cpu < <(tail -n 1 "$work/time.out" | awk '{ print $1, $2 + $3 }')
		printf '%s\t%s\t%d\t%s\t%s\t%s\t%d\n' "$input" "$tool" "$i" "$wall" "$rss" "$cpu" "$rc" >>"$work/times.tsv"
		say "$input $tool run $i: $wall s, $rss KiB, exit $rc"
	done
	[ -s "$work/out/$input-$tool-$runs.json" ] && cp "$work/out/$input-$tool-$runs.json" "$work/out/$input-$tool.json"
	find "$work/out" -name "$input-$tool-*.json" -delete
}

{
	echo -e "date\t$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo -e "runs\t$runs"
	echo -e "warmup\t$warmup"
	echo -e "vigil\t$rev"
	echo -e "vigil_measured\t$vigil_ok"
	echo -e "gitleaks\t$(modversion "$bin/gitleaks")"
	echo -e "go\t$(go env GOVERSION)"
	echo -e "git\t$(git --version | awk '{ print $3 }')"
	echo -e "nproc\t$(nproc)"
	echo -e "mem_kb\t$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	echo -e "cpu\t$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo -e "kernel\t$(uname -r)"
	echo -e "loadavg_start\t$(cut -d' ' -f1-3 /proc/loadavg)"
	echo -e "dir_corpus\t$dir"
	echo -e "git_corpus\t$gitc"
	echo -e "git_commits\t$(git -C "$gitrepo" rev-list --count --all)"
} >"$work/env.tsv"

peer_from=${VIGIL_BENCH_PEER_FROM:-}
peer_reused=""
kv() { awk -F'\t' -v k="$1" '$1 == k { print $2; exit }' "$2"; }
for input in $only; do
	peer_done=0
	for pd in $peer_from; do
		[ -s "$pd/out/$input-gitleaks.json" ] || continue
		for k in gitleaks dir_corpus git_corpus nproc cpu mem_kb; do
			[ "$(kv "$k" "$pd/env.tsv")" = "$(kv "$k" "$work/env.tsv")" ] ||
				die "VIGIL_BENCH_PEER_FROM: $pd's $k differs from this run's; measure gitleaks again"
		done
		echo -e "peer_from_$input\t$pd\t$(kv date "$pd/env.tsv")\t$(kv runs "$pd/env.tsv")\t$(kv warmup "$pd/env.tsv")" >>"$work/env.tsv"
		awk -F'\t' -v inp="$input" '$1 == inp && $2 == "gitleaks"' "$pd/times.tsv" >>"$work/times.tsv"
		cp "$pd/out/$input-gitleaks.json" "$work/out/"
		peer_done=1
		break
	done
	[ "$peer_done" = 0 ] || peer_reused+=" $input "
done
gl=("$bin/gitleaks" --no-banner --exit-code 0 --redact --report-format json --report-path REPORT --log-level warn)
for input in $only; do
	case $input in
	dir)
		[ "$vigil_ok" = 0 ] || measure dir vigil -- "$work/vigil" scan secrets "$tree" --format json -o REPORT
		[[ $peer_reused == *" dir "* ]] || runs=$peer_runs warmup=$peer_warmup measure dir gitleaks -- "${gl[0]}" dir "$tree" "${gl[@]:1}"
		;;
	git)
		[ "$vigil_ok" = 0 ] || measure git vigil -- "$work/vigil" scan secrets --git "$gitrepo" --format json -o REPORT
		[[ $peer_reused == *" git "* ]] || runs=$peer_runs warmup=$peer_warmup measure git gitleaks -- "${gl[0]}" git "$gitrepo" "${gl[@]:1}"
		;;
	*) die "unknown input $input (dir, git)" ;;
	esac
done
echo -e "loadavg_end\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/env.tsv"

# 5. Score against the ground truth and write the report.
for input in $only; do
	truth=$dir/truth.tsv
	[ "$input" = git ] && truth=$gitc/truth.tsv
	for tool in vigil gitleaks; do
		[ -s "$work/out/$input-$tool.json" ] || continue
		"$work/secretbench" score -truth "$truth" -root "$tree" -tool "$tool" -mode "$input" \
			-report "$work/out/$input-$tool.json" -out "$work/cmp/$input-$tool.json"
	done
done
"$work/secretbench" report -work "$work" -out "$out"
rm -f "$work/vigil" "$work/secretbench"
# Keep the five newest runs.
find "$cache/secrets" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5 | xargs -r rm -rf
say "wrote $out (run directory $work)"
