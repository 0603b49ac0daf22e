#!/usr/bin/env bash
# backbone.sh — the scale and lightness benchmark of the server backbone
# (issue 4). It builds vigil, vigil-agent and the helpers, then:
#
#  1. for each store (embedded SQLite, then PostgreSQL from
#     scripts/postgres.sh): starts `vigil server` on loopback ports and runs
#     bench/cmd/agentsim against it — N simulated agents, each enrolling
#     with its own key and certificate and keeping its own mTLS stream,
#     sending a full inventory snapshot, 30-s heartbeats, inventory deltas
#     and events at a fleet-wide rate, while an API client queries
#     GET /api/v1/assets in several shapes;
#  2. measures the real vigil-agent binary enrolled to a real server, idle
#     (bench/cmd/agentlight), and a reference daemon beside it;
#  3. writes bench/BACKBONE.md (agentsim report).
#
# Usage: bash bench/backbone.sh [flags]
#   --agents N          simulated agents (default 10000)
#   --duration D        measurement window (default 5m)
#   --warmup D          steady state before the window (default 30s)
#   --events-rate R     events per second, fleet-wide (default 20000)
#   --events-batch B    events per message (default 50)
#   --query-rate Q      API queries per second during the window (default 10)
#   --stores "S..."     stores to run: sqlite postgres (default both)
#   --idle D            agent idle window (default 5m; 0 skips the lightness part)
#   --api-check N       after the scale runs, one short run per store with N
#                       agents of 50 assets each (100,000 assets at N=2000)
#                       and few packages: the API latency over 100,000
#                       assets during ingest, without the 10,000-agent
#                       heartbeat load (default 2000; 0 skips it)
#   --merge DIR         also report the results of an earlier run's directory
#                       (its scale runs and API checks, and its lightness
#                       with --idle 0; e.g. --agents 0 --idle 0 --merge DIR
#                       re-runs only the API check and reports it with DIR's
#                       scale runs, --stores postgres --idle 0 --merge DIR
#                       adds a PostgreSQL run to DIR's SQLite one)
#   --agent-flags "F"   extra flags for the measured vigil-agent processes
#                       (e.g. "--runtime=false": the inventory agent without
#                       its runtime sensor); named in the lightness labels
#   --out FILE          the report (default bench/BACKBONE.md)
#   -- ARGS             passed to agentsim run as they are
# A quick run: bash bench/backbone.sh --agents 500 --duration 30s --warmup 10s --idle 1m
#
# Environment: VIGIL_BENCH_CACHE (default ~/.cache/vigil-bench) keeps the
# per-run directories (logs, JSON results) under backbone/; the stores are
# deleted after each run unless VIGIL_BACKBONE_KEEP is set.
# Only loopback addresses are used. Run it as root: the servers and the
# simulator need open-file limits above 10,000 (ulimit -n is raised here
# and agentsim raises its own RLIMIT_NOFILE), and PostgreSQL is started as
# its own user.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

agents=10000
duration=5m
warmup=30s
rate=20000
batch=50
qrate=10
stores="sqlite postgres"
idle=5m
apicheck=2000
merge=""
agentflags=""
out=$repo/bench/BACKBONE.md
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--agents) agents=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--warmup) warmup=$2; shift 2 ;;
	--events-rate) rate=$2; shift 2 ;;
	--events-batch) batch=$2; shift 2 ;;
	--query-rate) qrate=$2; shift 2 ;;
	--stores) stores=$2; shift 2 ;;
	--idle) idle=$2; shift 2 ;;
	--api-check) apicheck=$2; shift 2 ;;
	--merge) merge=$2; shift 2 ;;
	--agent-flags) agentflags=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--) shift; extra=("$@"); break ;;
	*) echo "backbone.sh: unknown flag $1 (see the header of this script)" >&2; exit 2 ;;
	esac
done

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
work=$cache/backbone/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$work"
say() { echo "backbone.sh: $*" >&2; }
die() { say "$*"; exit 1; }

# Every process this script starts is stopped on exit, by PID.
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	# A run that stopped early leaves no store behind either (a 10,000-agent
	# SQLite store is ~10 GB).
	if [ -z "${VIGIL_BACKBONE_KEEP:-}" ]; then
		rm -rf "$work"/*-data
	fi
}
trap cleanup EXIT

# A 10,000-agent SQLite store with its WAL takes ~10 GB: refuse to start a
# scale run that would fill the disk halfway.
if [ "$agents" -gt 0 ]; then
	free_kib=$(df -Pk "$work" | awk 'NR == 2 { print $4 }')
	need_kib=$((agents * 2 * 1024 + 2 * 1024 * 1024)) # ~2 MiB per agent + 2 GiB
	[ "$free_kib" -ge "$need_kib" ] ||
		die "$((free_kib / 1024 / 1024)) GiB free under $work, want $((need_kib / 1024 / 1024)) GiB for $agents agents"
fi

# 10,000 agents are 10,000 connections in the server and in the simulator.
ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -Hn)" || true
say "open-file limit: $(ulimit -n)"

# 1. Binaries.
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git status --porcelain 2>/dev/null | head -1)" ]; then
	rev=$rev-dirty
fi
say "building vigil, vigil-agent ($rev), agentsim and agentlight into $work"
# The binaries as they ship (static, stripped: scripts/build.sh): a cgo
# build links libc and measures 3 MiB more agent RSS than users run.
DIST="$work/dist" VERSION="$rev" scripts/build.sh >&2
ln -sf dist/vigil "$work/vigil"
ln -sf dist/vigil-agent "$work/vigil-agent"
go build -o "$work/agentsim" ./bench/cmd/agentsim
go build -o "$work/agentlight" ./bench/cmd/agentlight

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
export VIGIL_ADMIN_PASSWORD=$password

# freeport prints a TCP port nothing listens on, on loopback.
freeport() {
	local p
	while :; do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Hltn "sport = :$p" | grep -q .; then
			echo "$p"
			return
		fi
	done
}

# start_server NAME STORE-URL: starts vigil server, sets server_pid,
# api_url, agent_addr and ca_pin.
start_server() {
	local name=$1 store=$2 api agent log=$work/$1-server.log
	api=$(freeport)
	agent=$(freeport)
	"$work/vigil" server --api-addr "127.0.0.1:$api" --agent-addr "127.0.0.1:$agent" --data "$work/$name-data" \
		--store "$store" --local-agent=false --vulndb "$work/no-vulndb.sqlite" --log-level warn >"$log" 2>&1 &
	server_pid=$!
	pids+=("$server_pid")
	api_url=http://127.0.0.1:$api
	agent_addr=127.0.0.1:$agent
	local i
	for i in $(seq 1 300); do
		if curl -fsS "$api_url/healthz" >/dev/null 2>&1 && grep -q 'CA:' "$log"; then
			break
		fi
		kill -0 "$server_pid" 2>/dev/null || { cat "$log" >&2; die "vigil server ($name) exited"; }
		sleep 0.2
	done
	ca_pin=$(awk '$1 == "CA:" { print $2; exit }' "$log")
	[ -n "$ca_pin" ] || { cat "$log" >&2; die "no CA fingerprint in $log"; }
	say "server ($name): pid $server_pid, API $api_url, agents $agent_addr"
}

# jsonfield KEY prints the first string value of KEY in the JSON on stdin.
jsonfield() { grep -o "\"$1\":\"[^\"]*\"" | head -n 1 | cut -d'"' -f4; }

stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
}

cpustat() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

{
	echo -e "Date\t$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo -e "Machine\t$(nproc) CPUs (nproc), $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo); Linux $(uname -r)"
	printf 'free -g\t%s\n' "$(free -g | sed 's/$/\\n/' | tr -d '\n')"
	echo -e "Vigil\t$rev (working tree), $(go env GOVERSION)"
	echo -e "Run\tscale runs: $agents agents (0: none), warm-up $warmup, window $duration; API check: $apicheck agents (0: none); both with events $rate/s in messages of $batch and $qrate API queries/s; stores: $stores; agent idle window $idle (0: none); merged: ${merge:-none}; extra agentsim flags: ${extra[*]:-none}"
	echo -e "Load average before\t$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$work/env.tsv"
t_start=$(date +%s)
busy_start=$(cpustat)

# 2. Scale runs, then the API check.
results=()
# run_store STORE LABEL AGENTSIM-FLAGS...: one run against a fresh server.
run_store() {
	local st=$1 label=$2 url uid name
	shift 2
	name=$(echo "$label" | tr 'A-Z' 'a-z' | tr -c 'a-z0-9\n' '-')
	case $st in
	sqlite)
		url=""
		uid=-1
		;;
	postgres)
		base=$(bash scripts/postgres.sh) || die "scripts/postgres.sh failed"
		pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
		db=vigil_backbone
		PGPASSWORD=vigil "$pgbin/psql" "$base" -qtA -v ON_ERROR_STOP=1 \
			-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >&2
		url=${base%/*}/$db?sslmode=disable
		uid=$(id -u postgres)
		;;
	*) die "unknown store $st" ;;
	esac
	start_server "$name" "$url"
	say "agentsim against $st: $label"
	"$work/agentsim" run -label "$label" -agent-addr "$agent_addr" -api "$api_url" -ca-sha256 "$ca_pin" \
		-events-rate "$rate" -events-batch "$batch" -query-rate "$qrate" -server-pid "$server_pid" -watch-uid "$uid" \
		-out "$work/$name.json" "$@" "${extra[@]}" \
		2> >(tee "$work/$name-agentsim.log" >&2) || die "agentsim against $st failed (see $work/$name-agentsim.log)"
	results+=("$work/$name.json")
	stop_server
	# The stores hold gigabytes at the goal's scale: keep only the results
	# unless asked.
	if [ -z "${VIGIL_BACKBONE_KEEP:-}" ]; then
		rm -rf "$work/$name-data"
		if [ "$st" = postgres ]; then
			PGPASSWORD=vigil "$pgbin/psql" "$base" -qtA -c "DROP DATABASE IF EXISTS $db" >&2 || true
		fi
	fi
}
if [ "$agents" -gt 0 ]; then
	for st in $stores; do
		run_store "$st" "$st" -agents "$agents" -duration "$duration" -warmup "$warmup"
	done
fi
if [ "$apicheck" -gt 0 ]; then
	for st in $stores; do
		run_store "$st" "$st, API check" -agents "$apicheck" -containers 30 -images 19 -min-packages 50 -max-packages 100 \
			-duration 2m -warmup 20s
	done
fi
if [ -n "$merge" ]; then
	merged=()
	for f in "$merge"/sqlite.json "$merge"/postgres.json; do
		[ ! -f "$f" ] || merged+=("$f")
	done
	# The earlier run's API checks, of the stores not checked again here.
	for st in sqlite postgres; do
		f=$merge/$st--api-check.json
		if [ -f "$f" ] && { [ "$apicheck" -eq 0 ] || [[ " $stores " != *" $st "* ]]; }; then
			merged+=("$f")
		fi
	done
	results=("${merged[@]}" "${results[@]}")
fi

# 3. Agent lightness: the real vigil-agent enrolled to a real server,
# idle, with no CPU cap (--max-cpu 0) so that what is measured is the
# agent itself; a reference daemon measured the same way beside it.
lights=()
if [ "$idle" != "0" ]; then
	start_server light ""
	token=$(curl -fsS -X POST "$api_url/api/v1/login" -H "Content-Type: application/json" -d "{\"name\":\"admin\",\"password\":\"$password\"}" | jsonfield token)
	enroll=$(curl -fsS -X POST "$api_url/api/v1/enrollment-tokens" -H "Authorization: Bearer $token" -H "Content-Type: application/json" \
		-d '{"name":"lightness","maxUses":2,"ttl":"1h"}' | jsonfield token)
	[ -n "$enroll" ] || die "could not create an enrollment token"
	mport=$(freeport)
	"$work/agentlight" -label "vigil-agent${agentflags:+ $agentflags}" -version "$rev" -idle "$idle" -settle 30s \
		-metrics "http://127.0.0.1:$mport/metrics" -log "$work/agent.log" -out "$work/light-agent.json" -- \
		"$work/vigil-agent" --server "$agent_addr" --token "$enroll" --ca-sha256 "${ca_pin#sha256:}" \
		--state "$work/agent-state" --max-cpu 0 --metrics-addr "127.0.0.1:$mport" $agentflags &
	light_pid=$!
	pids+=("$light_pid")

	# The same agent on a typical small host: this machine's root holds
	# the Go module cache (tens of thousands of packages in test data), so
	# a second agent inventories a Debian minbase root (the SBOM
	# benchmark's cached corpus, built with debootstrap when missing).
	# Processes, ports and users come from that root too (none live there).
	root_json=""
	if VIGIL_FIXTURE_CACHE=${VIGIL_FIXTURE_CACHE:-$cache/fixtures} \
		go run ./bench/cmd/sbombench corpus -cache "$cache/corpora" -only debian -out "$work/corpora.tsv" >&2; then
		img=$(awk -F'\t' '$1 == "debian" { print $3 }' "$work/corpora.tsv")
		mkdir -p "$work/debian-image" "$work/debian-root"
		tar -xf "$img" -C "$work/debian-image"
		for layer in "$work"/debian-image/*.tar.gz; do
			tar -xzf "$layer" -C "$work/debian-root" 2>/dev/null || true
		done
		rport=$(freeport)
		"$work/agentlight" -label "vigil-agent${agentflags:+ $agentflags}, Debian minbase root" -version "$rev" -idle "$idle" -settle 30s \
			-note "--host-root on debootstrap --variant=minbase bullseye" \
			-metrics "http://127.0.0.1:$rport/metrics" -log "$work/agent-root.log" -out "$work/light-agent-root.json" -- \
			"$work/vigil-agent" --server "$agent_addr" --token "$enroll" --ca-sha256 "${ca_pin#sha256:}" \
			--state "$work/agent-root-state" --host-root "$work/debian-root" --max-cpu 0 --metrics-addr "127.0.0.1:$rport" $agentflags &
		root_pid=$!
		pids+=("$root_pid")
		root_json=$work/light-agent-root.json
	else
		say "no Debian root for the second agent measurement"
	fi

	# The reference: no security agent (osquery, Wazuh, Falco, OSSEC) is in
	# Debian; prometheus-node-exporter is the nearest always-on Go host
	# daemon that is. Its .deb is unpacked, never installed (no service
	# is started).
	peer_json=""
	nebin=$cache/peers/node-exporter/usr/bin/prometheus-node-exporter
	if [ ! -x "$nebin" ]; then
		mkdir -p "$cache/peers/node-exporter"
		(cd "$cache/peers" && apt-get download prometheus-node-exporter >&2 &&
			dpkg-deb -x prometheus-node-exporter_*.deb node-exporter) || say "could not fetch prometheus-node-exporter; no reference measured"
	fi
	if [ -x "$nebin" ]; then
		neport=$(freeport)
		"$work/agentlight" -label prometheus-node-exporter -version "$("$nebin" --version 2>&1 | awk 'NR == 1 { print $3 }')" \
			-note "reference only, not a security agent; idle = nobody scrapes it" -idle "$idle" -settle 30s \
			-log "$work/node-exporter.log" -out "$work/light-node-exporter.json" -- \
			"$nebin" --web.listen-address "127.0.0.1:$neport" &
		peer_pid=$!
		pids+=("$peer_pid")
		wait "$peer_pid" && peer_json=$work/light-node-exporter.json || say "reference measurement failed"
	fi
	wait "$light_pid" || die "agent lightness measurement failed (see $work/agent.log)"
	lights+=(-light "$work/light-agent.json")
	if [ -n "$root_json" ]; then
		if wait "$root_pid"; then
			lights+=(-light "$root_json")
		else
			say "the Debian-root agent measurement failed (see $work/agent-root.log)"
		fi
	fi
	[ -z "$peer_json" ] || lights+=(-light "$peer_json")
	stop_server
	rm -rf "$work/debian-image" "$work/debian-root"
fi

if [ -n "$merge" ] && [ "$idle" = "0" ]; then
	for f in "$merge"/light-agent.json "$merge"/light-agent-root.json "$merge"/light-node-exporter.json; do
		[ ! -f "$f" ] || lights+=(-light "$f")
	done
fi

elapsed=$(($(date +%s) - t_start))
busy=$(( $(cpustat) - busy_start ))
{
	echo -e "Load average after\t$(cut -d' ' -f1-3 /proc/loadavg)"
	echo -e "Whole run\t$((elapsed / 60)) min $((elapsed % 60)) s; the machine's CPUs were $(awk -v b="$busy" -v e="$elapsed" -v n="$(nproc)" 'BEGIN { printf "%.0f", 100 * b / 100 / e / n }')% busy on average (everything on it, other developers' work included)"
	echo -e "Raw results\t$work"
	if [ -n "$merge" ] && [ -f "$merge/env.tsv" ]; then
		sed 's/^/Merged run: /' "$merge/env.tsv"
	fi
} >>"$work/env.tsv"
"$work/agentsim" report -out "$out" -env "$work/env.tsv" -notes bench/cmd/agentsim/notes.md "${lights[@]}" "${results[@]}"
say "wrote $out (raw results in $work)"
