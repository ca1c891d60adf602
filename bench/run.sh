#!/usr/bin/env bash
# Benchmarks: our nsqd against the reference Go nsqd, same machine, same run, the reference's
# own load tools (bench_writer, bench_reader) plus ours (crates/nsq-bench) for latency,
# fan-out, memory and idle connections.
#
#   bench/run.sh            full run (5 pairs per scenario, 13-25 min); rewrites the generated
#                           section of docs/benchmarks.md
#   bench/run.sh --quick    1 pair, short runs (~45 s once both builds are cached); writes
#                           bench/out/benchmarks-quick.md, leaves docs/ alone
# Options:
#   --pairs N         pairs per scenario (A B A B ...; ours first in each pair)
#   --only a,b        run only these scenarios (see SCENARIOS below)
#   --doc FILE        markdown file whose generated section is rewritten
#   --no-build        reuse the binaries from the previous run
#   --retries N       measure a pair again up to N times while other processes use more than
#                     BENCH_MAX_OTHER_LOAD cores (default 0.5) during it (default: 2 full, 0 quick)
#   --lat-nice N      niceness of the daemon and the tool in the latency scenarios (default
#                     -10, needs root; 0 disables): on a shared machine the tail latencies
#                     otherwise measure other people's compile jobs more than the daemons
# Environment:
#   BENCH_WORKTREE    clean worktree of HEAD used to build ours
#                     (default bench/.build/worktree; never the shared working tree)
#   BENCH_TARGET_DIR  CARGO_TARGET_DIR for that build (default bench/.build/target)
#   BENCH_TMP         parent of the per-run data directories (default ${TMPDIR:-/tmp})
#
# Every daemon binds to 127.0.0.1 only, on ports the OS reports free, with a fresh data
# directory. Daemon CPU time is utime+stime from /proc/<pid>/stat around the measured phase.
# Exit status: non-zero only when a run failed (a tool error, lost messages, a daemon that
# died) or the setup failed; a slow result never fails. Processes this script starts are
# killed by PID on exit.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)

SCENARIOS=(pub sub sub-mem spill-sub pubsub spill-pubsub lat-10k-rdy200 lat-100k-rdy200 lat-10k-rdy1 mem-1m mem-idle fanout)

mode=full
pairs=""
only=""
doc=""
build=1
lat_nice=-10
retries=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --pairs) pairs=$2; shift ;;
    --pairs=*) pairs=${1#*=} ;;
    --only) only=$2; shift ;;
    --only=*) only=${1#*=} ;;
    --doc) doc=$2; shift ;;
    --doc=*) doc=${1#*=} ;;
    --no-build) build=0 ;;
    --retries) retries=$2; shift ;;
    --retries=*) retries=${1#*=} ;;
    --lat-nice) lat_nice=$2; shift ;;
    --lat-nice=*) lat_nice=${1#*=} ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# ---- parameters per mode ------------------------------------------------------------------
if [ "$mode" = full ]; then
  : "${pairs:=5}"
  RUNFOR=5s            # bench_writer / bench_reader --runfor (PUB, PUB+SUB)
  SUB_RUNFOR=3s        # bench_reader --runfor when draining a backlog
  SUB_BACKLOG=6000000  # pre-filled messages for the SUB scenarios
  LAT_DURATION=6s LAT_WARMUP=1s
  MEM_MSGS=1000000
  IDLE_CONNS=10000
  FANOUT_MSGS=300000
  doc=${doc:-$root/docs/benchmarks.md}
else
  : "${pairs:=1}"
  RUNFOR=1s
  SUB_RUNFOR=1s
  SUB_BACKLOG=1500000
  LAT_DURATION=2s LAT_WARMUP=0.5s
  MEM_MSGS=1000000
  IDLE_CONNS=2000
  FANOUT_MSGS=100000
  doc=${doc:-$root/bench/out/benchmarks-quick.md}
fi
SIZE=200
BATCH=200
RDY=2500
# Noise control: a pair is measured again when other processes used more than this many
# cores during either of its runs (see the interference table of the report).
MAX_OTHER_LOAD=${BENCH_MAX_OTHER_LOAD:-0.5}
[ -n "$retries" ] || { [ "$mode" = full ] && retries=2 || retries=0; }
RETRIES=$retries

say() { printf '[run.sh %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

started=$(date +%s)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
out="$root/bench/out/$stamp-$mode"
mkdir -p "$out"
results="$out/results.jsonl"
: > "$results"
tmp_parent=${BENCH_TMP:-${TMPDIR:-/tmp}}

# ---- process bookkeeping: everything we start is killed by PID on exit -------------------
pids=()
data_dirs=()
cleanup() {
  local p d
  # Tools run under timeout(1), which passes TERM on to them; daemons get KILL a moment later.
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for d in "${data_dirs[@]}"; do rm -rf "$d"; done
}
trap 'cleanup' EXIT
trap 'cleanup; trap - EXIT; exit 130' INT
trap 'cleanup; trap - EXIT; exit 143' TERM

forget_pid() {
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# tool SECONDS LOG CMD...: runs CMD (under timeout) in the background so that signals reach
# our traps at once, records its PID, waits; returns its status. Output goes to LOG.
tool() {
  local limit=$1 log=$2 p rc=0; shift 2
  timeout -k 5 "$limit" "${PRIO[@]}" "$@" >"$log" 2>&1 &
  p=$!
  pids+=("$p")
  wait "$p" || rc=$?
  forget_pid "$p"
  return $rc
}

# Scenario functions report why they failed through REASON.
REASON=""
fail() { REASON=$*; return 1; }

json_str() {
  local s=$1
  s=${s//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/ }; s=${s//$'\t'/ }
  printf '"%s"' "$s"
}
meta() { printf '{"type":"meta","key":"%s","value":%s}\n' "$1" "$(json_str "$2")" >> "$results"; }
note() { printf '{"type":"note","scenario":"%s","text":%s}\n' "$1" "$(json_str "$2")" >> "$results"; }
# result SCENARIO METRIC IMPL PAIR VALUE [FLAG]
result() {
  local flags="[]"
  [[ "$5" =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]] || { fail "$1/$2: not a number: '$5'"; return 1; }
  [ -n "${6:-}" ] && flags="[\"$6\"]"
  printf '{"type":"result","scenario":"%s","metric":"%s","impl":"%s","pair":%s,"value":%s,"flags":%s}\n' \
    "$1" "$2" "$3" "$4" "$5" "$flags" >> "$results"
}
failure() {
  printf '{"type":"failure","scenario":"%s","impl":"%s","pair":%s,"reason":%s}\n' \
    "$1" "$2" "$3" "$(json_str "$4")" >> "${all_results:-$results}"
  say "FAILED: $1 / $2 / pair $3: $4"
}

# ---- builds ---------------------------------------------------------------------------------
ref_bin="$here/.build/bin"
wt=${BENCH_WORKTREE:-$here/.build/worktree}
tgt=${BENCH_TARGET_DIR:-$here/.build/target}
commit=$(git -C "$root" rev-parse HEAD)
if [ "$build" = 1 ]; then
  say "building the reference (bench/reference.sh)"
  "$here/reference.sh" >&2
  say "building ours from a clean worktree of HEAD ($commit) in $wt"
  if [ -e "$wt/.git" ]; then
    git -C "$wt" checkout -q --detach -f "$commit"
    git -C "$wt" clean -q -fdx -e target
  else
    git -C "$root" worktree add -f --detach "$wt" "$commit" >&2
  fi
  (cd "$wt" && CARGO_TARGET_DIR="$tgt" cargo build --release -q -p nsqd -p nsq-bench) ||
    die "cargo build --release of HEAD failed"
fi
ours_bin="$tgt/release/nsqd"
nb="$tgt/release/nsq-bench"
bw="$ref_bin/bench_writer"
br="$ref_bin/bench_reader"
for f in "$ours_bin" "$nb" "$ref_bin/nsqd" "$bw" "$br"; do
  [ -x "$f" ] || die "missing binary $f"
done
built_commit=$(git -C "$wt" rev-parse HEAD 2>/dev/null || echo "$commit")

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((IDLE_CONNS + 200)) ]; then
  say "ulimit -n is $nofile: idle connections reduced"
  IDLE_CONNS=$((nofile - 200))
fi

# ---- metadata --------------------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
mem_total=$(awk '/^MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta nproc "$(nproc)"
meta machine "$(nproc) CPUs ($cpu_model), $mem_total RAM, Linux $(uname -r)"
meta commit "$(git -C "$root" log -1 --format='%h %s' "$built_commit")"
meta reference "$(cat "$ref_bin/REF_VERSION" 2>/dev/null || echo unknown) ($(go version 2>/dev/null | cut -d' ' -f3 || echo 'go ?'))"
meta mode "$mode: $pairs pair(s) per scenario, run order ours, reference, ours, reference, ...; a pair is measured again (up to $RETRIES times, quietest attempt kept) when other processes used more than $MAX_OTHER_LOAD cores during it"
meta max_other_load "$MAX_OTHER_LOAD"
# PRIO prefixes the daemon and the tools; set per scenario in the main loop.
PRIO=()
lat_prio=()
if [ "$lat_nice" != 0 ]; then
  if nice -n "$lat_nice" true 2>/dev/null && [ "$(nice -n "$lat_nice" nice)" = "$lat_nice" ]; then
    lat_prio=(nice -n "$lat_nice")
    meta priority "latency scenarios: daemon and latency tool at nice $lat_nice (both implementations); everything else at the default priority"
  else
    say "cannot set nice $lat_nice (not root?): latency scenarios run at the default priority"
    meta priority "default for every scenario (nice $lat_nice was not permitted)"
  fi
fi

# ---- daemon lifecycle ------------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
DPID="" DADDR="" DDIR="" DLOG=""

cpu_s() { # utime+stime of $1 in seconds
  awk -v tck="$CLK_TCK" '{ sub(/^.*\) /, ""); printf "%.4f\n", ($12 + $13) / tck }' "/proc/$1/stat"
}
status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }

# start_daemon IMPL TAG [flags...]: sets DPID DADDR DDIR DLOG
start_daemon() {
  local impl=$1 tag=$2; shift 2
  local bin=$ours_bin attempt ports p1 p2 p3
  [ "$impl" = ref ] && bin="$ref_bin/nsqd"
  for attempt in 1 2 3; do
    ports=$("$nb" free-ports --count 3 | tr -dc '0-9,')
    IFS=, read -r p1 p2 p3 <<<"$ports"
    DDIR=$(mktemp -d "$tmp_parent/nsq-bench-$impl.XXXXXX")
    data_dirs+=("$DDIR")
    DLOG="$out/$tag.$impl.nsqd.log"
    "${PRIO[@]}" "$bin" --tcp-address="127.0.0.1:$p1" --http-address="127.0.0.1:$p2" \
      --https-address="127.0.0.1:$p3" --broadcast-address=127.0.0.1 \
      --data-path="$DDIR" "$@" >"$DLOG" 2>&1 &
    DPID=$!
    pids+=("$DPID")
    DADDR="127.0.0.1:$p1"
    if "$nb" wait-ready --addr "$DADDR" --timeout 10s >/dev/null 2>>"$DLOG" &&
       kill -0 "$DPID" 2>/dev/null &&
       { ! command -v ss >/dev/null || ss -Hltnp "sport = :$p1" | grep -q "pid=$DPID,"; }; then
      return 0
    fi
    say "daemon $impl did not come up on $DADDR (attempt $attempt), see $DLOG"
    stop_daemon
  done
  return 1
}

stop_daemon() {
  if [ -n "$DPID" ]; then
    kill -KILL "$DPID" 2>/dev/null || true
    wait "$DPID" 2>/dev/null || true
    forget_pid "$DPID"
  fi
  [ -n "$DDIR" ] && rm -rf "$DDIR"
  DPID="" DDIR=""
}

# CPU-seconds all CPUs spent in processes since boot (user nice system) plus time stolen by
# the hypervisor; interrupt and softirq time (largely our own loopback traffic) is left out.
busy_s() { awk -v t="$CLK_TCK" '/^cpu / { printf "%.3f\n", ($2+$3+$4+$9) / t; exit }' /proc/stat; }
# children_into VAR: CPU-seconds used by this shell's waited-for children (daemons, tools, and theirs). `times`
# must run in this shell, not a subshell, hence the file.
children_into() {
  times > "$out/.times"
  printf -v "$1" '%s' "$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); s += a[1] * 60 + a[2] } printf "%.3f\n", s }' "$out/.times")"
}

# phase_begin / phase_end bracket a scenario's measured phase: they sample machine-wide busy
# time, our waited-for children, the daemon's CPU (PD0, PD1) and the wall clock, so that the
# interference figure covers only that phase.
PHASE=0
phase_begin() {
  PB0=$(busy_s); children_into PK0; PD0=$(cpu_s "$DPID"); PW0=$EPOCHREALTIME
}
phase_end() {
  PB1=$(busy_s); children_into PK1; PD1=$(cpu_s "$DPID"); PW1=$EPOCHREALTIME; PHASE=1
}

alive() { kill -0 "$DPID" 2>/dev/null || { fail "daemon died (see $DLOG)"; return 1; }; }

# parse_go_bench FILE: prints "<seconds> <ops/s>" from a bench_writer/bench_reader log
parse_go_bench() {
  sed -n 's/.*duration: \([0-9.]*\)s - [0-9.]*mb\/s - \([0-9.]*\)ops\/s.*/\1 \2/p' "$1" | tail -n1
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.6f\n", a / b }'; }
us_per() { awk -v c0="$1" -v c1="$2" -v n="$3" 'BEGIN { if (n <= 0) print 0; else printf "%.4f\n", (c1 - c0) * 1e6 / n }'; }

# ---- scenarios -------------------------------------------------------------------------------
# run_<name> IMPL PAIR measures against the daemon started with flags_<name>; on failure it
# sets REASON and returns 1. (Called under `if`, so errexit is off inside: every step checks.)
# Go tools' figures: messages = ops/s × seconds from their "duration:" line.

flags_pub() { echo --mem-queue-size=1000000; }
run_pub() {
  local impl=$1 pair=$2 log="$out/pub.$1.$2.writer.log" parsed secs ops
  phase_begin
  tool 120 "$log" "$bw" --runfor="$RUNFOR" --nsqd-tcp-address="$DADDR" --size=$SIZE \
    --batch-size=$BATCH || { fail "bench_writer failed: $(tail -c 300 "$log")"; return 1; }
  alive || return 1
  phase_end
  parsed=$(parse_go_bench "$log")
  [ -n "$parsed" ] || { fail "no result line in $log"; return 1; }
  read -r secs ops <<<"$parsed"
  result pub rate "$impl" "$pair" "$ops" &&
    result pub cpu "$impl" "$pair" "$(us_per "$PD0" "$PD1" "$(awk -v s="$secs" -v o="$ops" 'BEGIN{print s*o}')")"
}

# sub_drain SCENARIO IMPL PAIR: fill the backlog into channel "ch", then bench_reader.
sub_drain() {
  local sc=$1 impl=$2 pair=$3 log="$out/$1.$2.$3.reader.log" fj="$out/$1.$2.$3.fill.json"
  local parsed secs ops n flag=""
  tool 600 "$fj" "$nb" fill --addr "$DADDR" --topic sub_bench --channel ch \
    --count "$SUB_BACKLOG" --size $SIZE --batch $BATCH ||
    { fail "fill failed: $(tail -c 300 "$fj")"; return 1; }
  # Write the fill's dirty pages back now, so the kernel's writeback does not land in (and
  # compete with) the measured phase; a fast fill would otherwise be penalised for its speed.
  sync -f "$DDIR/" 2>/dev/null || sync
  phase_begin
  tool 120 "$log" "$br" --runfor="$SUB_RUNFOR" --nsqd-tcp-address="$DADDR" --size=$SIZE \
    --channel=ch --rdy=$RDY || { fail "bench_reader failed: $(tail -c 300 "$log")"; return 1; }
  alive || return 1
  phase_end
  parsed=$(parse_go_bench "$log")
  [ -n "$parsed" ] || { fail "no result line in $log"; return 1; }
  read -r secs ops <<<"$parsed"
  n=$(awk -v s="$secs" -v o="$ops" 'BEGIN{printf "%.0f\n", s*o}')
  [ "$n" -ge $((SUB_BACKLOG * 98 / 100)) ] && flag=backlog-bound
  result "$sc" rate "$impl" "$pair" "$ops" "$flag" &&
    result "$sc" cpu "$impl" "$pair" "$(us_per "$PD0" "$PD1" "$n")"
}
flags_sub() { echo --mem-queue-size=1000000; }
run_sub() { sub_drain sub "$@"; }
flags_sub-mem() { echo --mem-queue-size=$((SUB_BACKLOG + 1000)); }
run_sub-mem() { sub_drain sub-mem "$@"; }
flags_spill-sub() { echo --mem-queue-size=10000; }
run_spill-sub() { sub_drain spill-sub "$@"; }

# pubsub_stream SCENARIO IMPL PAIR: bench_reader and bench_writer at the same time.
pubsub_stream() {
  local sc=$1 impl=$2 pair=$3 rlog="$out/$1.$2.$3.reader.log" wlog="$out/$1.$2.$3.writer.log"
  local rpid rc=0 rsecs="" rops="" wsecs="" wops="" n
  phase_begin
  timeout -k 5 120 "$br" --runfor="$RUNFOR" --nsqd-tcp-address="$DADDR" --size=$SIZE \
    --rdy=$RDY >"$rlog" 2>&1 &
  rpid=$!
  pids+=("$rpid")
  tool 120 "$wlog" "$bw" --runfor="$RUNFOR" --nsqd-tcp-address="$DADDR" --size=$SIZE \
    --batch-size=$BATCH || rc=1
  wait "$rpid" || rc=1
  forget_pid "$rpid"
  alive || return 1
  phase_end
  [ $rc = 0 ] || { fail "bench tool failed: $(tail -c 200 "$wlog") $(tail -c 200 "$rlog")"; return 1; }
  read -r rsecs rops <<<"$(parse_go_bench "$rlog")"
  read -r wsecs wops <<<"$(parse_go_bench "$wlog")"
  [ -n "$rops" ] && [ -n "$wops" ] || { fail "missing result lines in $rlog / $wlog"; return 1; }
  n=$(awk -v s="$rsecs" -v o="$rops" 'BEGIN{printf "%.0f\n", s*o}')
  result "$sc" rate "$impl" "$pair" "$rops" &&
    result "$sc" pub_rate "$impl" "$pair" "$wops" &&
    result "$sc" cpu "$impl" "$pair" "$(us_per "$PD0" "$PD1" "$n")"
}
flags_pubsub() { echo --mem-queue-size=1000000; }
run_pubsub() { pubsub_stream pubsub "$@"; }
flags_spill-pubsub() { echo --mem-queue-size=10000; }
run_spill-pubsub() { pubsub_stream spill-pubsub "$@"; }

json_num() { sed -n "s/.*\"$1\":\([-0-9.eE+]*\).*/\1/p" "$2"; }

# latency SCENARIO IMPL PAIR RATE RDY
latency() {
  local sc=$1 impl=$2 pair=$3 j="$out/$1.$2.$3.json" v
  phase_begin
  tool 120 "$j" "$nb" latency --addr "$DADDR" --rate "$4" --rdy "$5" --output-buffer-timeout 250 \
    --duration "$LAT_DURATION" --warmup "$LAT_WARMUP" --size $SIZE ||
    { fail "latency tool failed: $(tail -c 300 "$j")"; return 1; }
  alive || return 1
  phase_end
  for v in p50 p99 p999; do
    result "$sc" "$v" "$impl" "$pair" "$(json_num "${v}_us" "$j")" || return 1
  done
}
flags_lat-10k-rdy200() { echo --mem-queue-size=10000; }
run_lat-10k-rdy200() { latency lat-10k-rdy200 "$1" "$2" 10000 200; }
flags_lat-100k-rdy200() { echo --mem-queue-size=10000; }
run_lat-100k-rdy200() { latency lat-100k-rdy200 "$1" "$2" 100000 200; }
flags_lat-10k-rdy1() { echo --mem-queue-size=10000; }
run_lat-10k-rdy1() { latency lat-10k-rdy1 "$1" "$2" 10000 1; }

flags_mem-1m() { echo --mem-queue-size=1000000; }
run_mem-1m() {
  local impl=$1 pair=$2 fj="$out/mem-1m.$1.$2.fill.json" hwm disk flag=""
  phase_begin
  tool 120 "$fj" "$nb" fill --addr "$DADDR" --topic mem --channel ch --count "$MEM_MSGS" \
    --size $SIZE --batch $BATCH || { fail "fill failed: $(tail -c 300 "$fj")"; return 1; }
  phase_end
  sleep 1
  alive || return 1
  hwm=$(status_kb "$DPID" VmHWM)
  disk=$(du -sk "$DDIR" | cut -f1)
  # More than a few MiB on disk would mean messages spilled out of memory.
  [ "$disk" -gt 8192 ] && flag="spilled ${disk} KiB to disk"
  result mem-1m hwm "$impl" "$pair" "$(awk -v k="$hwm" 'BEGIN{printf "%.1f\n", k/1024}')" "$flag"
}

flags_mem-idle() { :; }
run_mem-idle() {
  local impl=$1 pair=$2 j="$out/mem-idle.$1.$2.json"
  phase_begin
  tool 180 "$j" "$nb" idle --addr "$DADDR" --daemon-pid "$DPID" --conns "$IDLE_CONNS" \
    --settle 2s || { fail "idle tool failed: $(tail -c 300 "$j")"; return 1; }
  alive || return 1
  phase_end
  result mem-idle per_conn "$impl" "$pair" "$(json_num bytes_per_conn "$j")" &&
    result mem-idle hwm "$impl" "$pair" "$(json_num hwm_kb "$j" | awk '{printf "%.1f\n", $1/1024}')" &&
    result mem-idle base "$impl" "$pair" \
      "$(json_num rss_before_kb "$j" | awk '{printf "%.1f\n", $1/1024}')"
}

flags_fanout() { echo --mem-queue-size=1000000; }
run_fanout() {
  local impl=$1 pair=$2 j="$out/fanout.$1.$2.json"
  phase_begin
  tool 300 "$j" "$nb" fanout --addr "$DADDR" --daemon-pid "$DPID" --channels 10 \
    --count "$FANOUT_MSGS" --size $SIZE --rdy $RDY ||
    { fail "fanout tool failed: $(tail -c 300 "$j")"; return 1; }
  alive || return 1
  phase_end
  result fanout rate "$impl" "$pair" "$(json_num rate "$j")" &&
    result fanout cpu "$impl" "$pair" "$(json_num cpu_us_per_msg "$j")"
}

describe() {
  note pub "bench_writer --runfor=$RUNFOR --size=$SIZE --batch-size=$BATCH (GOMAXPROCS=$(nproc) connections, one MPUB in flight each) into a fresh nsqd --mem-queue-size=1000000; as in nsq's bench.sh the topic has no channel, so past 1M messages the topic's disk queue takes the rest. CPU = daemon utime+stime during the writer run / messages published."
  note sub "backlog of $SUB_BACKLOG × $SIZE B published with nsq-bench fill into topic sub_bench after creating channel ch (so the messages queue in the channel: --mem-queue-size=1000000 in memory, the rest in its disk queue, as after bench.sh's PUB phase); the fill's dirty pages are written back (sync -f) so that kernel writeback stays out of the measurement; then bench_reader --runfor=$SUB_RUNFOR --rdy=$RDY. Marked backlog-bound if the reader drained ≥ 98 % of the backlog. CPU = daemon CPU during the reader run / messages received."
  note sub-mem "as sub, but --mem-queue-size=$((SUB_BACKLOG + 1000)) so the whole backlog is in memory."
  note spill-sub "as sub, with the default --mem-queue-size=10000: the backlog is (almost) entirely in the channel's disk queue."
  note pubsub "bench_reader --rdy=$RDY and bench_writer at the same time, both --runfor=$RUNFOR, --mem-queue-size=1000000; delivered = reader msg/s, published = writer msg/s; CPU per delivered message."
  note spill-pubsub "as pubsub with the default --mem-queue-size=10000 (messages the reader cannot take at once go through the disk queue)."
  note lat-10k-rdy200 "nsq-bench latency: one publisher pipelining PUBs paced at 10,000 msg/s for $LAT_DURATION (first $LAT_WARMUP discarded); one consumer IDENTIFYing like go-nsq (feature_negotiation, output_buffer_size 16384, output_buffer_timeout 250) with RDY 200; latency = consumer receive time − publisher send time (same process, monotonic clock); every message must arrive."
  note lat-100k-rdy200 "as lat-10k-rdy200 at 100,000 msg/s."
  note lat-10k-rdy1 "as lat-10k-rdy200 with RDY 1 (go-nsq's default max_in_flight)."
  note mem-1m "nsq-bench fill: channel ch created, then $MEM_MSGS × $SIZE B messages; --mem-queue-size=1000000 so all of them are in memory; VmHWM of the daemon 1 s after the last OK."
  note mem-idle "nsq-bench idle: $IDLE_CONNS connections each sending the magic and a go-nsq-like IDENTIFY, then idle; (VmRSS after 2 s − VmRSS before) / connections; peak = VmHWM then. 'idle daemon RSS' is VmRSS before the connections."
  note fanout "nsq-bench fanout: one topic, 10 channels each with one consumer (RDY $RDY, FIN each message); channels created first, $FANOUT_MSGS messages published, then all consumers start; rate = 10 × $FANOUT_MSGS / time until every channel drained; CPU = daemon CPU during the drain / deliveries."
}

# ---- main loop -----------------------------------------------------------------------------------
selected=("${SCENARIOS[@]}")
if [ -n "$only" ]; then
  IFS=, read -r -a selected <<<"$only"
  for s in "${selected[@]}"; do
    declare -F "run_$s" >/dev/null || die "unknown scenario $s (known: ${SCENARIOS[*]})"
  done
fi
describe
say "results in $out; $pairs pair(s) of ${#selected[@]} scenario(s), mode $mode"
failed=0
all_results=$results
# run_one SCENARIO IMPL PAIR: one daemon, one measurement; records go to $results.
run_one() {
  local s=$1 impl=$2 pair=$3
  say "$s: $impl (pair $pair/$pairs)"
  PHASE=0
  PRIO=()
  case "$s" in lat-*) PRIO=("${lat_prio[@]}") ;; esac
  # shellcheck disable=SC2046
  if ! start_daemon "$impl" "$s.$pair" $("flags_$s"); then
    failure "$s" "$impl" "$pair" "daemon did not start"
    failed=1
    return 0
  fi
  REASON=""
  if ! "run_$s" "$impl" "$pair"; then
    failure "$s" "$impl" "$pair" "${REASON:-unknown error}"
    failed=1
  fi
  stop_daemon
  # CPU the rest of the machine used during the measured phase: all busy time minus the
  # daemon's and our tools'.
  if [ "$PHASE" = 1 ]; then
    printf '{"type":"load","scenario":"%s","impl":"%s","pair":%s,"cores":%s}\n' "$s" "$impl" "$pair" \
      "$(awk -v b1="$PB1" -v b0="$PB0" -v k1="$PK1" -v k0="$PK0" -v d1="$PD1" -v d0="$PD0" \
           -v w1="$PW1" -v w0="$PW0" \
           'BEGIN { f = ((b1 - b0) - (k1 - k0) - (d1 - d0)) / (w1 - w0); if (f < 0) f = 0; printf "%.2f\n", f }')" \
      >> "$results"
  fi
}

# A pair whose runs saw more than MAX_OTHER_LOAD cores of other work is measured again (up
# to RETRIES times); the quietest attempt is kept. Failures are always recorded.
for s in "${selected[@]}"; do
  for pair in $(seq 1 "$pairs"); do
    best="" best_load=""
    for attempt in $(seq 1 $((RETRIES + 1))); do
      results="$out/$s.$pair.attempt$attempt.jsonl"
      : > "$results"
      run_one "$s" ours "$pair"
      run_one "$s" ref "$pair"
      worst=$(awk -F'"cores":' '/"type":"load"/ { v = $2 + 0; if (v > m) m = v } END { printf "%.2f\n", m + 0 }' "$results")
      if [ -z "$best" ] || awk -v a="$worst" -v b="$best_load" 'BEGIN { exit !(a < b) }'; then
        best=$results best_load=$worst
      fi
      awk -v a="$worst" -v t="$MAX_OTHER_LOAD" 'BEGIN { exit !(a <= t) }' && break
      [ "$attempt" -le "$RETRIES" ] &&
        say "$s pair $pair: other processes used $worst cores (> $MAX_OTHER_LOAD); measuring the pair again"
    done
    results=$all_results
    grep -v '"type":"failure"' "$best" >> "$results" || true
  done
done

elapsed=$(( $(date +%s) - started ))
meta load "$load_start → $(cut -d' ' -f1-3 /proc/loadavg) (1, 5, 15 min)"
meta elapsed "$((elapsed / 60)) min $((elapsed % 60)) s (including builds)"
mkdir -p "$(dirname "$doc")"
"$nb" report --results "$results" --doc "$doc" >"$out/report.json"
say "report written to $doc ($(cat "$out/report.json")); raw results in $results"
say "done in ${elapsed}s"
exit "$failed"
