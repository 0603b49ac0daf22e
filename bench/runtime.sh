#!/usr/bin/env bash
# runtime.sh — the runtime sensor overhead benchmark (issue 5): how much
# slower a fork+exec loop, an open/close loop and a loopback connect loop
# run with `vigil-agent --standalone` watching the host, against the same
# loops with nothing running and with bpftrace counting sched_process_exec
# (the minimal eBPF baseline). One run builds what it needs, measures and
# writes bench/RUNTIME.md; its last line is the summary for RESULTS.md.
#
# Loops (bench/cmd/runtimebench; each reports its own elapsed time):
#   exec            fork+exec /bin/true, EXEC_N in all from 2 workers
#   open-watched    open+close /etc/hostname (under the watched /etc/),
#                   OPEN_N times per worker on 2 workers
#   open-unwatched  the same on a temporary file outside every watched prefix
#   connect         TCP connect+close to a loopback listener, CONNECT_N in all
#                   from 2 workers
# Configurations, interleaved in every round (baseline, bpftrace, agent):
#   baseline  nothing else running
#   bpftrace  bpftrace -e 'tracepoint:sched:sched_process_exec { @ = count(); }'
#             started and attached (its "Attaching" line) before the loop
#   agent     vigil-agent --standalone --response off --max-cpu 0 with its
#             default rules, started before the loop (ready, then a warm-up),
#             its /metrics read before and after, stopped after
# The agent's idle CPU and RSS are measured once, first, over an idle window.
# The benchmark refuses to report numbers when the agent's sensor is
# degraded (no eBPF).
#
# Environment:
#   VIGIL_BENCH_CACHE            run directories (default ~/.cache/vigil-bench)
#   VIGIL_BENCH_RUNS             rounds; the median of each loop and
#                                configuration is reported (default 5)
#   VIGIL_BENCH_WARMUP           unmeasured baseline runs of each loop first (default 1)
#   VIGIL_BENCH_TIMEOUT          seconds before one loop run is stopped (default 300)
#   VIGIL_BENCH_RUNTIME_LOOPS    loops to run (default "exec open-watched open-unwatched connect")
#   VIGIL_BENCH_RUNTIME_EXEC_N   execs per exec loop (default 3000)
#   VIGIL_BENCH_RUNTIME_OPEN_N   opens per worker per open loop (default 200000)
#   VIGIL_BENCH_RUNTIME_CONNECT_N connects per connect loop (default 20000)
#   VIGIL_BENCH_RUNTIME_WORKERS  workers of every loop (default 2)
#   VIGIL_BENCH_RUNTIME_AGENT_WARMUP  seconds between the agent being ready
#                                and the loop (default 5)
#   VIGIL_BENCH_RUNTIME_IDLE     seconds of the idle window (default 60)
#   VIGIL_BENCH_RUNTIME_PORT     the agent's metrics port on 127.0.0.1 (default 19464)
#   VIGIL_BENCH_RUNTIME_WATCHED  the file of the open-watched loop (default
#                                /etc/hostname); the report says whether the
#                                agent delivered its opens (a sensor that
#                                watches /etc/ for writes only does not)
#   VIGIL_BENCH_AGENT            a prebuilt vigil-agent to measure instead of
#                                building ./cmd/vigil-agent from this tree
#   VIGIL_BENCH_RUNTIME_OUT      the report (default bench/RUNTIME.md)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { echo "runtime.sh: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
	die "run me as root (sudo bash bench/runtime.sh): the agent's sensor loads eBPF programs and bpftrace attaches a tracepoint, both need root; without it the agent would fall back to its degraded sensor and the numbers would mean nothing"
fi

cache=${VIGIL_BENCH_CACHE:-$HOME/.cache/vigil-bench}
runs=${VIGIL_BENCH_RUNS:-5}
warmup=${VIGIL_BENCH_WARMUP:-1}
timeout_s=${VIGIL_BENCH_TIMEOUT:-300}
loops=${VIGIL_BENCH_RUNTIME_LOOPS:-exec open-watched open-unwatched connect}
exec_n=${VIGIL_BENCH_RUNTIME_EXEC_N:-3000}
open_n=${VIGIL_BENCH_RUNTIME_OPEN_N:-200000}
connect_n=${VIGIL_BENCH_RUNTIME_CONNECT_N:-20000}
workers=${VIGIL_BENCH_RUNTIME_WORKERS:-2}
agent_warm=${VIGIL_BENCH_RUNTIME_AGENT_WARMUP:-5}
idle_s=${VIGIL_BENCH_RUNTIME_IDLE:-60}
port=${VIGIL_BENCH_RUNTIME_PORT:-19464}
out=${VIGIL_BENCH_RUNTIME_OUT:-$repo/bench/RUNTIME.md}
watched=${VIGIL_BENCH_RUNTIME_WATCHED:-/etc/hostname}
bt_prog='tracepoint:sched:sched_process_exec { @ = count(); }'
url=http://127.0.0.1:$port/metrics

work=$cache/runtime/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$work/logs" "$work/metrics" "$work/state"
t_start=$SECONDS

# Cleanup: whatever is still running is stopped, whatever happens.
agent_pid=""
bt_pid=""
unwatched=""
stop_pid() { # pid signal seconds: signal, wait, then SIGKILL
	local pid=$1 sig=$2 s=$3 i
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < s * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		say "pid $pid did not stop on SIG$sig within $s s; killing it"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}
cleanup() {
	stop_pid "$agent_pid" TERM 15
	stop_pid "$bt_pid" INT 10
	[ -z "$unwatched" ] || rm -rf "$unwatched"
	rm -f "$work/runtimebench" "$work/vigil-agent"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# 1. Programs: GNU time, bpftrace; the agent and the helper.
need_apt=()
[ -x /usr/bin/time ] || need_apt+=(time)
command -v bpftrace >/dev/null || need_apt+=(bpftrace)
if [ ${#need_apt[@]} -gt 0 ]; then
	say "installing ${need_apt[*]} with apt-get"
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get update -qq
	timeout 600 apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
bench=$work/runtimebench
go build -o "$bench" ./bench/cmd/runtimebench
rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
if [ -n "${VIGIL_BENCH_AGENT:-}" ]; then
	agent=$VIGIL_BENCH_AGENT
	agent_src="prebuilt $agent (VIGIL_BENCH_AGENT)"
	[ -x "$agent" ] || die "VIGIL_BENCH_AGENT=$agent is not executable"
else
	agent=$work/dist/vigil-agent
	agent_src="built from this tree ($rev), as shipped (scripts/build.sh)"
	say "building vigil-agent ($rev)"
	DIST="$work/dist" VERSION="$rev" scripts/build.sh >"$work/logs/agent-build.log" 2>&1 ||
		die "scripts/build.sh failed: $(tail -n 5 "$work/logs/agent-build.log")"
fi
agent_help=$("$agent" -h 2>&1 || true) # -h exits 2
grep -q -- '-standalone' <<<"$agent_help" || die "$agent has no --standalone mode: nothing to measure yet"
agent_version=$("$agent" --version 2>/dev/null | head -n 1 || true)
if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
	die "127.0.0.1:$port is in use; set VIGIL_BENCH_RUNTIME_PORT"
fi
[ -r "$watched" ] || die "VIGIL_BENCH_RUNTIME_WATCHED=$watched is not a readable file"
# Kernel BPF statistics time every program run (two clock reads each): on
# this VM they made the agent's open/close overhead look half again as
# large. They are a system-wide switch; the benchmark refuses rather than
# flip it behind its owner's back.
if [ "$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null || echo 0)" != 0 ]; then
	die "kernel.bpf_stats_enabled is on: it adds to every eBPF program run and would inflate the agent's overhead; turn it off (sysctl -w kernel.bpf_stats_enabled=0) and run again"
fi
unwatched=$(mktemp -d /tmp/vigil-runtime.XXXXXX)
echo "unwatched" >"$unwatched/file"
for l in $loops; do
	case $l in exec | open-watched | open-unwatched | connect) ;; *) die "unknown loop $l (exec, open-watched, open-unwatched, connect)" ;; esac
done
loop_cmd() { # loop -> the runtimebench arguments
	case $1 in
	exec) echo "exec-loop -n $exec_n -w $workers" ;;
	open-watched) echo "open-loop -n $open_n -w $workers -path $watched" ;;
	open-unwatched) echo "open-loop -n $open_n -w $workers -path $unwatched/file" ;;
	connect) echo "connect-loop -n $connect_n -w $workers" ;;
	esac
}

# 2. The agent and bpftrace, started and stopped around each run.
agent_args=(--standalone --state "$work/state" --response off --alert-log "$work/state/alerts.jsonl"
	--metrics-addr "127.0.0.1:$port" --max-cpu 0)
start_agent() { # name log-level: start, wait until ready (refuse if degraded)
	local name=$1 level=$2 rc=0 ready
	"$agent" "${agent_args[@]}" --log-level "$level" >"$work/logs/$name.alerts" 2>"$work/logs/$name.log" &
	agent_pid=$!
	# At warn level the agent may not log its mode: the metrics tell it.
	require=false
	[ "$level" != info ] || require=true
	ready=$("$bench" wait-agent -pid "$agent_pid" -log "$work/logs/$name.log" -url "$url" -timeout 90s \
		-require-mode="$require") || rc=$?
	if [ "$rc" = 3 ]; then
		die "the agent's sensor is degraded (see $work/logs/$name.log): refusing to report numbers measured without eBPF"
	elif [ "$rc" != 0 ]; then
		die "the agent did not become ready (see $work/logs/$name.log)"
	fi
	agent_ready_s=${ready#* }
	agent_mode=${ready% *}
}
stop_agent() { # name: record the alerts it printed; stop it
	stop_pid "$agent_pid" TERM 15
	agent_pid=""
	if grep -qi 'degraded' "$work/logs/$1.log"; then
		die "the agent logged that its sensor is degraded (see $work/logs/$1.log): refusing to report numbers"
	fi
}
# The alerts an agent printed: all of them (other users' work is watched
# too), those about the loop's own processes, and the rules that fired.
alerts_all() { grep -c '"ruleId"' "$work/logs/$1.alerts" || true; }
alerts_own() { grep -E -c "\"exe\":\"($bench|/usr/bin/true|/bin/true)\"" "$work/logs/$1.alerts" || true; }
alert_rules() { grep -o '"ruleId":"[^"]*"' "$work/logs/$1.alerts" | cut -d'"' -f4 | sort | uniq -c | awk '{ printf "%s%s×%s", (NR > 1 ? " " : ""), $2, $1 }' || true; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
start_bpftrace() { # name
	local log=$work/logs/$1.bpftrace i
	: >"$log"
	bpftrace -e "$bt_prog" >"$log" 2>&1 &
	bt_pid=$!
	for ((i = 0; i < 600; i++)); do
		grep -q '^Attaching' "$log" && break
		kill -0 "$bt_pid" 2>/dev/null || die "bpftrace exited before attaching: $(tail -n 5 "$log")"
		sleep 0.1
	done
	grep -q '^Attaching' "$log" || die "bpftrace did not attach within 60 s: $(tail -n 5 "$log")"
	bt_attach_s=$(awk -v i="$i" 'BEGIN { printf "%.1f", i / 10 }')
}
stop_bpftrace() { # name -> the count it printed
	stop_pid "$bt_pid" INT 10
	bt_pid=""
	bt_count=$(awk '/^@: / { print $2 }' "$work/logs/$1.bpftrace" | tail -n 1)
}

# 3. Measurements.
printf 'loop\tconfig\tround\telapsed_s\tops\terrors\twall_s\tcpu_s\tmaxrss_kb\tload1\texit\n' >"$work/times.tsv"
printf 'loop\tround\tready_s\thwm_kb\talerts\talerts_own\trules\tmode\n' >"$work/agent.tsv"
printf 'loop\tround\tattach_s\tcount\n' >"$work/bpftrace.tsv"
printf 'loop\tcommand\n' >"$work/loops.tsv"
for l in $loops; do printf '%s\truntimebench %s\n' "$l" "$(loop_cmd "$l" | sed "s|$unwatched|\$TMP|")" >>"$work/loops.tsv"; done
measure() { # loop config round: one run, appended to times.tsv
	local l=$1 c=$2 r=$3 rc=0 name=$1-$2-$3 el=0 ops=0 errs=0 wall cpu rss load t0 t1
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$EPOCHREALTIME
	# shellcheck disable=SC2046
	timeout "$timeout_s" /usr/bin/time -f '%U %S %M' -o "$work/time.out" "$bench" $(loop_cmd "$l") \
		>"$work/loop.out" 2>"$work/logs/$name.loop" || rc=$?
	t1=$EPOCHREALTIME
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
	read -r el ops errs <"$work/loop.out" || true
	read -r cpu rss < <(tail -n 1 "$work/time.out" | awk '{ print $1 + $2, $3 + 0 }') || true
	[ "$rc" = 0 ] || say "$name: exit $rc: $(tail -n 3 "$work/logs/$name.loop")"
	[ "$r" -ge 1 ] || return 0
	printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\n' "$l" "$c" "$r" "${el:-0}" "${ops:-0}" "${errs:-0}" \
		"$wall" "${cpu:-0}" "${rss:-0}" "$load" "$rc" >>"$work/times.tsv"
	say "$l $c round $r: ${el:-?} s (load $load)"
}

{
	echo -e "date\t$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo -e "runs\t$runs"
	echo -e "warmup\t$warmup"
	echo -e "vigil\t$rev"
	echo -e "agent_src\t$agent_src"
	echo -e "agent_version\t$agent_version"
	echo -e "agent_args\t${agent_args[*]} --log-level warn"
	echo -e "agent_warmup_s\t$agent_warm"
	echo -e "idle_window_s\t$idle_s"
	echo -e "bpftrace\t$(bpftrace --version 2>/dev/null | awk '{ print $2 }')"
	echo -e "bpftrace_prog\t$bt_prog"
	echo -e "go\t$(go env GOVERSION)"
	echo -e "workers\t$workers"
	echo -e "exec_n\t$exec_n"
	echo -e "open_n\t$open_n"
	echo -e "connect_n\t$connect_n"
	echo -e "watched\t$watched"
	echo -e "nproc\t$(nproc)"
	echo -e "mem_kb\t$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
	echo -e "cpu\t$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo -e "kernel\t$(uname -r)"
	echo -e "loadavg_start\t$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$work/env.tsv"

# 3a. The sensor's mode, read from the agent's start-up log (info level),
# then the idle agent: CPU and RSS over the idle window.
say "checking the agent's sensor mode"
start_agent mode info
echo -e "sensor_mode\t$agent_mode" >>"$work/env.tsv"
stop_agent mode
say "sensor mode: $agent_mode; measuring the idle agent for $idle_s s"
start_agent idle warn
sleep "$agent_warm"
"$bench" idle -pid "$agent_pid" -url "$url" -window "${idle_s}s" -out "$work/idle.tsv"
echo -e "load_idle\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/env.tsv"
stop_agent idle

# 3b. The loops: warm-up, then rounds of baseline, bpftrace, agent.
for l in $loops; do
	for ((w = 1 - warmup; w <= 0; w++)); do measure "$l" baseline "$w"; done
done
for ((r = 1; r <= runs; r++)); do
	for l in $loops; do
		measure "$l" baseline "$r"
		sleep 1

		start_bpftrace "$l-$r"
		sleep 1
		measure "$l" bpftrace "$r"
		stop_bpftrace "$l-$r"
		printf '%s\t%d\t%s\t%s\n' "$l" "$r" "$bt_attach_s" "${bt_count:-}" >>"$work/bpftrace.tsv"
		sleep 1

		start_agent "$l-$r" warn
		sleep "$agent_warm"
		"$bench" scrape -url "$url" -pid "$agent_pid" -out "$work/metrics/$l-$r-before.prom"
		measure "$l" agent "$r"
		kill -0 "$agent_pid" 2>/dev/null || die "the agent exited during the $l loop (see $work/logs/$l-$r.log)"
		"$bench" scrape -url "$url" -pid "$agent_pid" -settle 200ms -out "$work/metrics/$l-$r-after.prom"
		hwm=$(hwm_kb "$agent_pid")
		stop_agent "$l-$r"
		printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n' "$l" "$r" "$agent_ready_s" "$hwm" \
			"$(alerts_all "$l-$r")" "$(alerts_own "$l-$r")" "$(alert_rules "$l-$r")" "$agent_mode" >>"$work/agent.tsv"
		sleep 1
	done
done
echo -e "loadavg_end\t$(cut -d' ' -f1-3 /proc/loadavg)" >>"$work/env.tsv"
echo -e "duration_s\t$((SECONDS - t_start))" >>"$work/env.tsv"

# 4. The report.
"$bench" report -work "$work" -out "$out"
find "$cache/runtime" -mindepth 1 -maxdepth 1 -type d | sort | head -n -5 | xargs -r rm -rf
say "wrote $out in $((SECONDS - t_start)) s (run directory $work)"
