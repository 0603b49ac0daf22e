#!/usr/bin/env bash
# console.sh — the page-time benchmark of the web console at the scale of
# issue 8: with 100,000 assets and 1,000,000 findings loaded, every page
# answers in under 1 s (p95). It
#
#  1. builds vigil (this tree) and bench/cmd/consolebench;
#  2. seeds an embedded SQLite store through the store's public methods
#     (consolebench seed), once: the file is cached under
#     $VIGIL_BENCH_CACHE/console/<key>/ (the key names the sizes and the
#     generator's version), so later runs skip this step. Seeding the
#     default sizes takes 20-45 minutes on 2 cores (42 on a busy shared
#     machine) and makes a file of 2.8 GiB; a run needs as much again
#     for its copy;
#  3. copies the seeded file into a run directory and starts the real
#     `vigil server` on it, on loopback ports, without the local agent and
#     without a vulnerability database (so nothing re-assesses the seeded
#     findings);
#  4. signs in through the console's /login form and requests every main
#     page, and the API list calls behind them, N times each
#     (consolebench measure);
#  5. writes bench/CONSOLE.md (consolebench report).
#
# Usage: bash bench/console.sh [flags] [-- seed flags]
#   --n N         measured requests per page and API call (default 30)
#   --out FILE    the report (default bench/CONSOLE.md)
#   --only TEXT   measure only the cases whose section or name contains TEXT
#   -- ARGS       passed to `consolebench seed` (sizes: -assets, -agents,
#                 -images, -findings, -vulns, -events, -host-packages, ...),
#                 e.g. a quick run: -- -assets 10000 -agents 500 -images 2000 -findings 100000
#
# Environment: VIGIL_BENCH_CACHE (default ~/.cache/vigil-bench) holds the
# seeded stores (console/) and the runs (console/runs/<date>/: logs,
# measure.json; the copied store is deleted after the run, and only the
# five latest runs are kept). Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

n=30
out=$repo/bench/CONSOLE.md
only=""
seedargs=()
while [ $# -gt 0 ]; do
	case $1 in
	--n) n=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--) shift; seedargs=("$@"); break ;;
	*) echo "console.sh: unknown flag $1 (see the header of this script)" >&2; exit 2 ;;
	esac
done

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
runs=$cache/console/runs
work=$runs/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$work"
say() { echo "console.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# The server is stopped on exit, by PID; the copied store is removed.
server_pid=""
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$work/data"
}
trap cleanup EXIT

# 1. Binaries.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain -- cmd internal go.mod go.sum 2>/dev/null | head -1)" ]; then
	rev=$rev-dirty
fi
say "building vigil ($rev) and consolebench into $work"
go build -ldflags "-X main.version=$rev" -o "$work/vigil" ./cmd/vigil || die "go build ./cmd/vigil failed; nothing measured"
go build -o "$work/consolebench" ./bench/cmd/consolebench

# 2. The seeded store (cached).
seed=$("$work/consolebench" seed -cache "$cache" "${seedargs[@]}") || die "seeding failed"
say "seeded store: $seed"

# 3. A copy of it, served by the real server.
mkdir -p "$work/data"
cp --reflink=auto --sparse=always "$seed/vigil.db" "$work/data/vigil.db"
VIGIL_ADMIN_PASSWORD=$(sed -n 's/.*"adminPassword": *"\([^"]*\)".*/\1/p' "$seed/seed.json")
export VIGIL_ADMIN_PASSWORD
log=$work/server.log
t0=$EPOCHREALTIME
"$work/vigil" server --api-addr 127.0.0.1:0 --agent-addr 127.0.0.1:0 --data "$work/data" \
	--local-agent=false --vulndb "$work/no-vulndb.sqlite" --log-level warn >"$log" 2>&1 &
server_pid=$!
url=""
for _ in $(seq 1 1500); do
	url=$(awk '$1 == "console:" { sub(/\/$/, "", $2); print $2; exit }' "$log")
	if [ -n "$url" ] && curl -fsS "$url/healthz" >/dev/null 2>&1; then
		break
	fi
	url=""
	kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "vigil server exited"; }
	sleep 0.2
done
[ -n "$url" ] || { cat "$log" >&2; die "vigil server did not start within 5 minutes"; }
start_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
say "server: pid $server_pid, $url, up in $start_s s"

# 4. Measurement.
"$work/consolebench" measure -url "$url" -seed "$seed" -out "$work/measure.json" -n "$n" \
	-server-pid "$server_pid" ${only:+-only "$only"} || die "measurement failed (see $log)"
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""

# 5. The report.
{
	echo -e "vigil\t$rev"
	echo -e "go\t$(go env GOVERSION)"
	echo -e "startSeconds\t$start_s"
	echo -e "store\t$(du -h --apparent-size "$seed/vigil.db" | cut -f1)B file"
} >"$work/env.tsv"
"$work/consolebench" report -seed "$seed" -run "$work" -out "$out"
say "wrote $out (run directory $work)"

# Keep the five latest runs.
ls -1d "$runs"/*/ 2>/dev/null | sort | head -n -5 | while read -r old; do rm -rf "$old"; done
