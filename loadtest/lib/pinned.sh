# The measurements of `loadtest/bench pinned`, sourced by it once the upstream, nginx and the
# gateway run on core 0. Uses its variables and helpers: work, up, ngx, gw, token, api_key,
# sample, gateway, k6, DURATION, on_generator, cpu_of, rss_of, nginx_pids, and the plain
# pingora proxies: plain, plain_pid, answers, answers_pid.

# Opens an MCP session at `url` (initialize, then notifications/initialized); prints its id.
open_session() { # url token api-key
  local url=$1 tok=$2 key=$3 id
  local -a auth=()
  [ -n "$tok" ] && auth+=(-H "Authorization: Bearer $tok")
  [ -n "$key" ] && auth+=(-H "x-api-key: $key")
  id=$(curl -s -D - -o /dev/null "$url" "${auth[@]}" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
    -d '{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"wrk","version":"1"}}}' \
    | tr -d '\r' | awk -F': ' 'tolower($1) == "mcp-session-id" {print $2}')
  [ -n "$id" ] || { echo "no session at $url" >&2; exit 1; }
  curl -s -o /dev/null "$url" "${auth[@]}" -H 'Content-Type: application/json' \
    -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
    -H "Mcp-Session-Id: $id" -d '{"jsonrpc":"2.0","method":"notifications/initialized"}'
  echo "$id"
}

# Context switches (voluntary and not) of every thread of the processes `pids`: each one is a
# thread put to sleep or preempted, and on one shared core they cost as much as the work.
switches_of() { python3 - "$@" <<'PY'
import glob, sys
total = 0
for pid in sys.argv[1:]:
    for status in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            for line in open(status):
                if "ctxt_switches:" in line:
                    total += int(line.split()[1])
        except (OSError, ValueError):
            pass
print(total)
PY
}

# CPU ticks (user + system) of the processes `pids`, by thread name, as JSON.
threads_of() { python3 - "$@" <<'PY'
import glob, json, sys
ticks = {}
for pid in sys.argv[1:]:
    for stat in glob.glob(f"/proc/{pid}/task/*/stat"):
        try:
            raw = open(stat).read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1:raw.rindex(")")]
        f = raw.rsplit(")", 1)[1].split()
        ticks[name] = ticks.get(name, 0) + int(f[11]) + int(f[12])
print(json.dumps(ticks))
PY
}

# The most calls/s wrk gets through `url` (one thread, 32 connections, for DURATION), with
# the CPU the processes `pids` used per call and their RSS.
max_rate() { # name url token api-key pids...
  local name=$1 url=$2 tok=$3 key=$4; shift 4
  local session before after
  # SESSIONLESS=1: the target opens no sessions (pingora answering by itself).
  session=""
  [ "${SESSIONLESS:-0}" = 1 ] || session=$(open_session "$url" "$tok" "$key")
  before=$(cpu_of "$@"); switched=$(switches_of "$@")
  SESSION=$session TOKEN=$tok API_KEY=$key $on_generator wrk -t1 -c32 -d"$DURATION" --latency \
    -s loadtest/scenarios/wrk-call.lua "$url" > "$work/$name.wrk" 2>&1 || true
  after=$(cpu_of "$@"); switched=$(( $(switches_of "$@") - switched ))
  python3 - "$work/$name.wrk" "$name" "$before" "$after" "$(rss_of "$@")" "$switched" >> "$work/max" <<'PY'
import re, sys
path, name, before, after, rss, switched = sys.argv[1:]
text = open(path).read()
m = re.search(r"RESULT requests=(\d+) seconds=([\d.]+) failed=(\d+) errors=(\d+)", text)
if not m:
    sys.exit(f"wrk printed no result for {name}:\n{text}")
requests, seconds, failed, errors = int(m[1]), float(m[2]), int(m[3]), int(m[4])
def ms(p):
    v = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not v:
        return float("nan")
    return float(v[1]) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[v[2]]
cpu_us = (float(after) - float(before)) / max(requests, 1) * 1e6
per_call = int(switched) / max(requests, 1)
print(f"{name}|{requests / seconds:.0f}|{ms(50):.2f}|{ms(99):.2f}|{cpu_us:.0f}|{per_call:.2f}|{rss}|{failed + errors}")
PY
}

# p50/p99 at a fixed 1,000 calls/s (k6's open-loop constant-arrival-rate, 1 KiB argument),
# with the CPU `pids` used per call and their RSS.
fixed_rate() { # name url token api-key pids...
  local name=$1 url=$2 tok=$3 key=$4; shift 4
  local before after
  before=$(cpu_of "$@"); switched=$(switches_of "$@"); threads_of "$@" > "$work/$name.threads"
  API_KEY=$key TARGET=$url TOKEN=$tok TOOL=echo RATE=1000 MESSAGE_BYTES=1024 DURATION=$DURATION \
    $on_generator "$k6" run --quiet --no-color --summary-trend-stats "med,p(99)" \
    --summary-export "$work/$name.json" loadtest/scenarios/fixed-rate.js > "$work/$name.k6" 2>&1 || true
  after=$(cpu_of "$@"); switched=$(( $(switches_of "$@") - switched ))
  python3 - "$work/$name.json" "$name" "$before" "$after" "$(rss_of "$@")" "$switched" \
    "$work/$name.threads" "$(threads_of "$@")" >> "$work/fixed" <<'PY'
import json, os, sys
path, name, before, after, rss, switched, threads, threads_after = sys.argv[1:]
m = json.load(open(path))["metrics"]
# Each thread's share, in CPU µs per call, kept beside the table.
tick = os.sysconf("SC_CLK_TCK")
t0, t1 = json.load(open(threads)), json.loads(threads_after)
calls = max(m["http_reqs"]["count"], 1)
share = {n: (t - t0.get(n, 0)) / tick / calls * 1e6 for n, t in t1.items()}
with open(threads, "w") as out:
    out.write(", ".join(f"{n} {us:.0f} µs" for n, us in sorted(share.items(), key=lambda x: -x[1]) if us >= 0.5))
d = m["http_req_duration"]
count = m["http_reqs"]["count"]
checks = m.get("checks", {})
ok = checks.get("value", checks.get("rate", 0))
cpu_us = (float(after) - float(before)) / max(count, 1) * 1e6
per_call = int(switched) / max(count, 1)
print(f"{name}|{m['http_reqs']['rate']:.0f}|{d['med']:.2f}|{d['p(99)']:.2f}|{cpu_us:.0f}|{per_call:.2f}|{rss}|{ok * 100:.2f}")
PY
}

# PROFILE=1: only where the gateway spends its CPU at its most calls/s (perf, with call
# graphs), written to loadtest/results/profile-pinned.txt; no tables.
if [ "${PROFILE:-0}" = 1 ]; then
  need perf || { echo "PROFILE=1 needs perf" >&2; exit 1; }
  session=$(open_session "http://127.0.0.1:$gw/mcp" "$token" "")
  SESSION=$session TOKEN=$token $on_generator wrk -t1 -c32 -d"$DURATION" \
    -s loadtest/scenarios/wrk-call.lua "http://127.0.0.1:$gw/mcp" > "$work/profile.wrk" 2>&1 &
  wrkpid=$!
  sleep 2
  perf record -e cpu-clock -F 999 --call-graph dwarf,16384 -p "$gateway" -o "$work/perf.data" \
    -- sleep 5 > /dev/null 2>&1 || true
  # The system calls behind each call (counted at the kernel's tracepoints while wrk runs).
  # The calls are counted from the gateway's metrics inside the counted window.
  calls_done() { curl -s "http://127.0.0.1:$admin/metrics" | awk '/^portcullis_gateway_requests_total/ {n += $2} END {print n + 0}'; }
  export -f calls_done; export admin work
  perf stat -x, -e 'syscalls:sys_enter_*' -p "$gateway" -o "$work/syscalls" -- \
    bash -c 'calls_done > "$work/before"; sleep 2; calls_done > "$work/after"' > /dev/null 2>&1 || true
  before=$(cat "$work/before" 2>/dev/null || echo 0); after=$(cat "$work/after" 2>/dev/null || echo 0)
  wait "$wrkpid" || true
  # PERF_DATA=path keeps the recording for `perf report -i path`.
  [ -n "${PERF_DATA:-}" ] && cp "$work/perf.data" "$PERF_DATA"
  mkdir -p loadtest/results
  report() { perf report -i "$work/perf.data" --stdio --sort symbol -g none "$@" 2>/dev/null \
    | grep -v '^#' | grep -v '^$' | sed -E 's/[[:space:]]+-[[:space:]]+-[[:space:]]*$//' | cut -c1-160; }
  {
    grep RESULT "$work/profile.wrk" || true
    if [ -s "$work/syscalls" ]; then
      echo "System calls per call (perf stat at the syscall tracepoints, $((after - before)) calls in 2 s):"
      python3 - "$work/syscalls" "$((after - before))" <<'PY'
import sys
calls = max(int(sys.argv[2]), 1)
for line in open(sys.argv[1]):
    f = line.strip().split(",")
    if len(f) > 2 and f[0].isdigit() and f[2].startswith("syscalls:sys_enter_"):
        if int(f[0]) / calls >= 0.05:
            print(f"  {f[2][len('syscalls:sys_enter_'):]:<16} {int(f[0]) / calls:.2f}")
PY
    fi
    echo "Self:"
    report --no-children --percent-limit 0.5
    echo
    echo "Inclusive (with callees):"
    report --children --percent-limit 2
  } > loadtest/results/profile-pinned.txt
  echo "loadtest/results/profile-pinned.txt"
  exit 0
fi

# TARGETS: which of direct, nginx, pingora, pingora-answers, gateway and gateway-fresh (every
# call a new decision) to measure (all by default).
targets=" ${TARGETS:-direct nginx pingora pingora-answers gateway gateway-fresh} "
measuring() { [[ "$targets" == *" $1 "* ]]; }
measuring direct && max_rate direct "http://127.0.0.1:$up/mcp" "" "$api_key" "$sample"
measuring nginx && max_rate nginx "http://127.0.0.1:$ngx/mcp" "" "$api_key" $(nginx_pids)
measuring pingora && max_rate pingora "http://127.0.0.1:$plain/mcp" "" "" "$plain_pid"
measuring pingora-answers && SESSIONLESS=1 max_rate pingora-answers "http://127.0.0.1:$answers/mcp" "" "" "$answers_pid"
measuring gateway && max_rate gateway "http://127.0.0.1:$gw/mcp" "$token" "" "$gateway"
measuring gateway-fresh && FRESH=1 TOOL=transfer_funds max_rate gateway-fresh "http://127.0.0.1:$gw/mcp" "$token" "" "$gateway"
measuring direct && fixed_rate direct "http://127.0.0.1:$up/mcp" "" "$api_key" "$sample"
measuring nginx && fixed_rate nginx "http://127.0.0.1:$ngx/mcp" "" "$api_key" $(nginx_pids)
measuring pingora && fixed_rate pingora "http://127.0.0.1:$plain/mcp" "" "" "$plain_pid"
measuring gateway && fixed_rate gateway "http://127.0.0.1:$gw/mcp" "$token" "" "$gateway"

mkdir -p loadtest/results
# Audit records the gateway could not keep up with (counted, never silent): 0 or the
# throughput above was bought by dropping them.
dropped=$(curl -s "http://127.0.0.1:$admin/metrics" \
  | awk '/^portcullis_gateway_audit_dropped_total/ {n += $2} END {print n + 0}')
python3 - "$work/max" "$work/fixed" "$DURATION" "$dropped" > loadtest/results/pinned.md <<'PY'
import sys
most = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
fixed = [l.strip().split("|") for l in open(sys.argv[2]) if l.strip()]
print(f"`loadtest/bench pinned`: the upstream and the server under test on core 0, the generator "
      f"on core 1; `tools/call echo` with a 1 KiB argument in one MCP session; {sys.argv[3]} per run. "
      "CPU and RSS are the server under test's own (for nginx and the gateway, not the upstream's).")
def table(title, rows, last):
    print()
    print(title)
    print()
    print(f"| target | calls/s | p50 ms | p99 ms | CPU µs per call | switches per call | RSS MiB | {last} |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
table("Most calls/s (wrk, 1 thread, 32 connections):", most, "failed")
table("A fixed 1,000 calls/s (k6 constant-arrival-rate, open loop):", fixed, "checks ok %")
m = {r[0]: r for r in most}
f = {r[0]: r for r in fixed}
def num(t, n, i):
    return float(t[n][i]) if n in t else float("nan")
print()
print(f"most calls/s: gateway / nginx = {num(m, 'gateway', 1) / num(m, 'nginx', 1):.2f}x; "
      f"direct / nginx = {num(m, 'direct', 1) / num(m, 'nginx', 1):.2f}x, "
      f"direct / gateway = {num(m, 'direct', 1) / num(m, 'gateway', 1):.2f}x "
      "(the generator is not the limit when direct runs far faster than either proxy)")
print(f"pingora with no enforcement: forwarding / nginx = {num(m, 'pingora', 1) / num(m, 'nginx', 1):.2f}x, "
      f"gateway / forwarding pingora = {num(m, 'gateway', 1) / num(m, 'pingora', 1):.2f}x; CPU per call "
      f"forwarding {num(m, 'pingora', 4):.0f} µs, answering by itself {num(m, 'pingora-answers', 4):.0f} µs")
print(f"fresh decisions / cached = {num(m, 'gateway-fresh', 1) / num(m, 'gateway', 1):.2f}x")
print(f"audit records the gateway dropped in all its runs: {sys.argv[4]}")
print(f"at 1,000 calls/s: CPU per call gateway / nginx = {num(f, 'gateway', 4) / num(f, 'nginx', 4):.2f}x; "
      f"added p99 over direct: gateway {num(f, 'gateway', 3) - num(f, 'direct', 3):.2f} ms, "
      f"nginx {num(f, 'nginx', 3) - num(f, 'direct', 3):.2f} ms")
import os
work = os.path.dirname(sys.argv[1])
for name in ("pingora", "gateway"):
    path = os.path.join(work, f"{name}.threads")
    if name in f and os.path.exists(path):
        print(f"at 1,000 calls/s, {name}'s CPU per call by thread: {open(path).read()}")
PY
cat loadtest/results/pinned.md
