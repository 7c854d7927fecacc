# shellcheck shell=bash
# Helpers shared by the bench scripts: logging, process trees, CPU and memory
# accounting, server start/stop, and (at the end) starting and checking the servers under
# test. Source it from bash; besides functions it sets only JWT_SECRET and FAILED defaults.

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

# The chopin binary mounts the auth routes, whose signing key production requires.
JWT_SECRET=${JWT_SECRET:-bench-only-jwt-secret-0123456789abcdef}

# A loud banner, for results that must not be trusted (errors, crashed server).
shout() {
  printf '\nbench: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf 'bench: !!! %s\n' "$*" >&2
  printf 'bench: !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
}

# Every PID of the process tree rooted at $1, root first. Children are found
# by parent PID (pgrep -P) because this kernel has no /proc/PID/task/*/children.
tree_pids() {
  local pid=$1 child
  [ -r "/proc/$pid/stat" ] || return 0
  echo "$pid"
  for child in $(pgrep -P "$pid" 2>/dev/null); do tree_pids "$child"; done
}

# The fields of /proc/PID/stat after "(comm)"; comm may hold spaces and ')',
# so everything up to the last ") " is cut off. Field 1 of the result is the
# state, 12 utime, 13 stime (both in clock ticks).
stat_fields() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null; }

# utime+stime in clock ticks, summed over the tree rooted at $1. The process
# line of /proc/PID/stat already adds up all of its threads (live and exited),
# so reading /proc/PID/task/*/stat as well would count them twice.
tree_cpu_ticks() {
  local pid
  for pid in $(tree_pids "$1"); do stat_fields "$pid"; done |
    awk '{ t += $12 + $13 } END { printf "%d\n", t }'
}

# Busy CPU ticks of the whole machine so far: user + nice + system + irq from
# the first line of /proc/stat. softirq is left out because on loopback it is
# mostly the benchmark's own packet processing, charged to no process.
machine_busy_ticks() { awk '/^cpu / { printf "%d\n", $2 + $3 + $4 + $7; exit }' /proc/stat; }

# Resident set size in KiB summed over the tree rooted at $1 (nginx: master plus
# workers). Pages shared between processes count once per process, like ps.
tree_rss_kib() {
  local pid
  for pid in $(tree_pids "$1"); do
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null
  done | awk '{ s += $1 } END { printf "%d\n", s }'
}

# True if the process exists and is not a zombie.
alive() {
  local state
  state=$(stat_fields "$1" | awk '{ print $1 }')
  [ -n "$state" ] && [ "$state" != Z ]
}

# Those of the given PIDs that are still alive. Always succeeds, so that
# `pids=$(living ...)` cannot trip set -e when the last one has exited.
living() {
  local p
  for p in "$@"; do
    if alive "$p"; then echo "$p"; fi
  done
  return 0
}

# True if something listens on TCP port $1. Not `ss | grep -q`: with pipefail
# an early grep exit can turn a match into a SIGPIPE failure.
port_busy() { [ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]; }

# PIDs of the processes holding a listening socket on TCP port $1.
listener_pids() {
  ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -u
}

# Start a server in the background. $1 names a global variable that receives
# the PID, $2 is the log file, the rest is the command. The command must stay
# in the foreground; env, taskset and our nginx.sh exec their argument, so the
# PID is the server's own (or a wrapper's, whose tree we still own). setsid
# gives the server a process group of its own, whose ID is that PID: workers
# orphaned by a crashed master stay in it, so stop_tree can still find them.
# (A background job of a non-interactive shell is no group leader, so setsid
# execs in place rather than forking.)
start_server() {
  local var=$1 logf=$2
  shift 2
  setsid "$@" >"$logf" 2>&1 </dev/null &
  printf -v "$var" '%s' "$!"
}

# Members of process group $1 (see start_server).
group_pids() { pgrep -g "$1" 2>/dev/null || true; }

# Living PIDs of the server started as $1: its tree and its process group.
server_pids() {
  # shellcheck disable=SC2046 # word splitting of PID lists is intended
  living $(tree_pids "$1") $(group_pids "$1")
}

# Wait until the tree rooted at $2 listens on port $1, and only it: our
# servers use SO_REUSEPORT, so a stray server left on the same port would
# silently take part of the load. Fails if the server exits, if a foreign
# process shares the port, or after $3 seconds (default 15).
wait_listening() {
  local port=$1 root=$2 limit=${3:-15} i pid ours
  for ((i = 0; i < limit * 10; i++)); do
    alive "$root" || return 1
    if port_busy "$port"; then
      ours=" $(tree_pids "$root" | tr '\n' ' ') "
      for pid in $(listener_pids "$port"); do
        case $ours in *" $pid "*) ;; *) log "port $port is shared with foreign PID $pid"; return 1 ;; esac
      done
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Stop the server started with PID $1 (see start_server): TERM to it first
# (nginx's master and chopin both shut their workers down on TERM), then after
# 5 s TERM to whatever is left of its tree and process group, then KILL after
# 2 more. Sets STOP_STATUS to the root's exit status, or "killed", so callers
# can check for a clean exit. Must run in the shell that started the server
# (not in $(...)), or wait cannot reap it.
stop_tree() {
  local root=$1 pids i
  STOP_STATUS=gone
  pids=$(server_pids "$root")
  if [ -z "$pids" ]; then
    wait "$root" 2>/dev/null || true
    return 0
  fi
  kill -TERM "$root" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    pids=$(server_pids "$root")
    [ -z "$pids" ] && break
    sleep 0.1
  done
  STOP_STATUS=""
  if [ -n "$pids" ]; then
    # shellcheck disable=SC2086
    kill -TERM $pids 2>/dev/null || true
    sleep 2
    pids=$(server_pids "$root")
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086
      kill -KILL $pids 2>/dev/null || true
      STOP_STATUS=killed
    fi
  fi
  if wait "$root" 2>/dev/null; then i=0; else i=$?; fi
  STOP_STATUS=${STOP_STATUS:-$i}
}

# ---- The servers under test, shared by http.sh and autocannon.sh, so that both start and check
# chopin and nginx the same way. These use the caller's globals: ROOT and HERE (the repository
# and bench/), SCRATCH (with logs/), PORT (chopin; nginx is PORT+1, chopin-std PORT+2),
# SERVER_CPU, CHOPIN_BIN, CHOPIN_ARGS, HZ, CORES, RUNS, WARMUP, DURATION, PAUSE, FAILED, and
# the associative arrays PID and PORT_OF (declare -A). Notes for the report go to
# SCRATCH/notes.txt, commands to SCRATCH/commands.txt.
FAILED=${FAILED:-0}  # set to 1 on anything that makes the numbers untrustworthy

# The start of a sitting: a higher open-file limit, ports $@ free (or die), servers stopped and
# the scratch folder removed on exit (cleanup), the caller's setup_scratch (creates SCRATCH) and
# write_meta (SCRATCH/meta.txt), then a warning if the machine is busy already.
start_sitting() {
  raise_fd_limit
  local p
  for p in "$@"; do
    if port_busy "$p"; then die "port $p is in use; stop what listens there or pick another PORT"; fi
  done
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  setup_scratch
  write_meta
  preflight_load
}

# Soft open-file limit up to the hard one: the idle test needs 10,000+ fds in
# the client and in the server, and children inherit the limit.
raise_fd_limit() {
  ulimit -Sn 20000 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
}

note() { printf '%s\n' "$*" >>"$SCRATCH/notes.txt"; }

stop_all() {
  local name
  for name in "${!PID[@]}"; do
    stop_tree "${PID[$name]}"
    case $name:$STOP_STATUS in
    chopin*:0 | nginx:0 | *:gone) ;;
    *) note "FAILED: $name did not exit with status 0 when stopped with SIGTERM (status $STOP_STATUS)"
       shout "$name did not exit with status 0 when stopped with SIGTERM (status $STOP_STATUS)"
       FAILED=1 ;;
    esac
    unset "PID[$name]"
  done
}

cleanup() {
  local rc=$?
  set +e  # stop every server even if one step fails
  stop_all
  if [ -n "${SCRATCH:-}" ]; then
    if [ "${KEEP_SCRATCH:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
      log "raw output and server logs kept in $SCRATCH"
    else
      rm -rf "$SCRATCH"
    fi
  fi
}

# Start server $1 ("chopin", "nginx" or "chopin-std") for a layout with $2
# workers, pinned when $3 is 1.
start_target() {
  local name=$1 workers=$2 pinned=$3 port pin=()
  # shellcheck disable=SC2153 # PORT is the caller's
  case $name in chopin) port=$PORT ;; nginx) port=$((PORT + 1)) ;; chopin-std) port=$((PORT + 2)) ;; esac
  [ "$pinned" = 1 ] && pin=(taskset -c "$SERVER_CPU")
  local logf=$SCRATCH/logs/$name-$workers.log cmd
  # ENVIRONMENT=production for both modes: development logging is not what we measure.
  # shellcheck disable=SC2206
  case $name in
  chopin) cmd=(env ENVIRONMENT=production JWT_SECRET="$JWT_SECRET" "${pin[@]}" "$CHOPIN_BIN" --mode performance
               --host 127.0.0.1 --port "$port" --workers "$workers" $CHOPIN_ARGS) ;;
  # Standard mode also serves the auth tests: access tokens that outlive the run, and no
  # per-address rate limit (every login of the load comes from 127.0.0.1).
  chopin-std) cmd=(env ENVIRONMENT=production JWT_SECRET="$JWT_SECRET" JWT_EXPIRY=24h AUTH_RATE_LIMIT=0
                   "${pin[@]}" "$CHOPIN_BIN" --mode standard
                   --host 127.0.0.1 --port "$port" --workers "$workers" $CHOPIN_ARGS) ;;
  nginx) cmd=("${pin[@]}" "$HERE/nginx.sh" "$port" "$workers" "$SCRATCH/nginx-$workers") ;;
  esac
  start_server "PID[$name]" "$logf" "${cmd[@]}"
  PORT_OF["$name"]=$port
  printf 'server %s (%s workers): %s\n' "$name" "$workers" "$(show_cmd "${cmd[@]}")" >>"$SCRATCH/commands.txt"
  if ! wait_listening "$port" "${PID[$name]}"; then
    tail -n 20 "$logf" >&2 || true
    [ "$name" = chopin-std ] || die "$name did not start listening on 127.0.0.1:$port; log above ($logf)"
    # Standard mode is measured for a later issue; without it the rest still counts.
    shout "chopin in standard mode did not start; standard-mode tests skipped"
    note "FAILED: chopin --mode standard did not start listening: $(tail -n 1 "$logf")"
    FAILED=1
    stop_tree "${PID[$name]}"
    unset "PID[$name]"
  fi
}

# Check a server's responses before loading it; a failure is fatal for
# chopin and nginx, and drops only the optional standard-mode server.
check_target() {
  local name=$1 out=$SCRATCH/logs/check-$1.txt flag=()
  [ "$name" = chopin-std ] && flag=(--json)
  if "$HERE/check.py" "${flag[@]}" "${PORT_OF[$name]}" >"$out" 2>&1; then
    sed "s/^/bench: $name: /" "$out" >&2
    return 0
  fi
  cat "$out" >&2
  if [ "$name" != chopin-std ]; then die "$name failed the response check"; fi
  shout "chopin standard mode failed the response check; standard-mode tests skipped"
  note "FAILED: chopin standard mode failed the response check: $(grep FAIL "$out" | head -1)"
  FAILED=1
  stop_tree "${PID[$name]}"
  unset "PID[$name]"
  return 1
}

# The command as a user would paste it from the repository root: paths
# relative to it, and only arguments that need it in single quotes.
show_cmd() {
  local arg words=()
  for arg in "$@"; do
    arg=${arg//"$ROOT/"/}
    if [[ $arg =~ ^[A-Za-z0-9_./:=,+@%-]+$ ]]; then
      words+=("$arg")
    else
      words+=("'${arg//\'/\'\\\'\'}'")
    fi
  done
  printf '%s\n' "${words[*]}"
}

# Warn when other processes already keep the machine busy: on this shared
# 2-core VM that is the main source of noise, and nothing here can fix it.
preflight_load() {
  local m0 m1 pct
  m0=$(machine_busy_ticks)
  sleep 2
  m1=$(machine_busy_ticks)
  pct=$(((m1 - m0) * 100 / (2 * HZ * CORES)))
  echo "busy_before=$pct" >>"$SCRATCH/meta.txt"
  if [ "$pct" -gt 20 ]; then
    shout "other processes are using ${pct}% of the CPUs before the benchmark; expect noisy numbers"
    note "the machine was ${pct}% busy with other work before the runs started; req/s ratios are unreliable"
  fi
}

# The test's warm-up and recorded runs for layout $1, test $2 against servers $3...: each
# server gets a WARMUP-second unrecorded run, then RUNS recorded ones. The caller defines
# `load_cmd TEST PORT SECONDS LAYOUT` (fills the array LOAD_CMD with the load generator's
# command) and `measure LAYOUT TEST SERVER RUN` (one recorded run; non-zero if the server died).
run_interleaved() {
  local layout=$1 test=$2 targets t run i k
  shift 2
  targets=("$@") k=$#
  [ "$k" -gt 0 ] || return 0
  load_cmd "$test" PORT "$DURATION" "$layout"
  log "== $test, $layout: $(show_cmd "${LOAD_CMD[@]}")"
  printf '%s %s: %s\n' "$layout" "$test" "$(show_cmd "${LOAD_CMD[@]}")" >>"$SCRATCH/commands.txt"
  if [ "$WARMUP" -gt 0 ]; then
    for t in "${targets[@]}"; do
      load_cmd "$test" "${PORT_OF[$t]}" "$WARMUP" "$layout"
      "${LOAD_CMD[@]}" >/dev/null 2>&1 || true
      sleep "$PAUSE"
    done
  fi
  # Interleave the servers and rotate who goes first each run, so a drift in
  # host noise over the test falls on all of them alike.
  for ((run = 1; run <= RUNS; run++)); do
    for ((i = 0; i < k; i++)); do
      t=${targets[$(((run - 1 + i) % k))]}
      measure "$layout" "$test" "$t" "$run" || die "cannot continue without $t"
      sleep "$PAUSE"
    done
  done
}

# The machine and the reference server, as key=value lines for a report's meta file.
machine_meta() {
  echo "date=$(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "cores=$CORES"
  echo "kernel=$(uname -sr)"
  echo "memory=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "loadavg_start=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "nginx=$(nginx -v 2>&1 | sed 's/^nginx version: //')"
}
