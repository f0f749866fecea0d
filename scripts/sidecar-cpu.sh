#!/bin/bash
# The sidecar's cost per request under closed-loop load, in counts that do not depend on how busy
# the machine is (docs/BENCHMARKS.md, "The sidecar's CPU per request, step by step").
#
#   scripts/sidecar-cpu.sh FSM CONFIGS [client|mtls] [SECONDS]
#       one sidecar (client) or the two-sidecar mTLS path in front of `bench upstream`, 64
#       connections of `bench load --closed`; `perf stat` over the sidecar process(es): CPU µs,
#       syscalls and context switches per request (and mallocs with COUNT=1, through a uprobe on
#       libc's malloc, which slows every malloc: the CPU of that run is not comparable).
#   CALLGRIND=1 scripts/sidecar-cpu.sh FSM CONFIGS [client|mtls] [SECONDS]
#       the sidecar(s) under valgrind's callgrind, instrumented only during the measured load
#       (CONNS connections, default 1): user-space instructions and mallocs per request summed
#       over the path's sidecars, and the profiles in OUT/cg*.out.* (callgrind_annotate).
#       Valgrind 3.19 cannot read the DWARF 5 of our builds: the script runs a copy with the
#       debug sections stripped (symbols stay).
#
# CONFIGS is the directory `bench dataplane --modes ours-client,ours-both-mtls` works in
# (/tmp/swift-mesh-dataplane-<pid>, left in place after the run): ours-client.json,
# ours-mtls-{client,server}.json and the bookbuyer/ and bookstore/ certificates. Ports and pod
# addresses are that run's (127.85.200.x, 18080 and 184xx): run nothing else on them meanwhile.
# Needs root for perf's tracepoints and uprobes (the malloc probe is removed at the end).
set -u
FSM=$1; CFG=$2; MODE=${3:-client}; SECS=${4:-5}
BENCH=${BENCH:-.build/release/bench}
OUT=${OUT:-$(mktemp -d /tmp/sidecar-cpu-XXXXXX)}
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${COUNT:-}" ]; then perf probe -q -d probe_libc:malloc 2>/dev/null; fi
}
trap cleanup EXIT
load() { "$BENCH" load --host "$HOST" --port "$PORT" --host-header bookstore.bookstore:14001 --closed --connections "$1" --seconds "$2"; }
requests() { grep -oE '^requests [0-9]+' "$1" | cut -d' ' -f2; }
# A sidecar, under callgrind with CALLGRIND (its profile named after `role`).
sidecar() {
    local role=$1; shift
    if [ -n "${CALLGRIND:-}" ]; then
        exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$OUT/cg-$role.out" "$OUT/fsm" sidecar "$@"
    else
        exec "$FSM" sidecar "$@"
    fi
}

if [ -n "${CALLGRIND:-}" ]; then objcopy --strip-debug "$FSM" "$OUT/fsm" && chmod +x "$OUT/fsm"; fi
"$BENCH" upstream --host 127.0.0.1,127.85.200.250 --port 18080 --body-bytes 1024 >"$OUT/upstream.log" 2>&1 & pids+=($!)
if [ "$MODE" = client ]; then
    sidecar client --config "$CFG/ours-client.json" --pod-ip 127.85.200.1 --outbound-port 18401 --inbound-port 18080 \
        --admin-port 18491 --log-level error --insecure-plaintext-peers >"$OUT/client.log" 2>&1 & pids+=($!); TARGETS=$!
    HOST=127.85.200.1; PORT=18401
else
    sidecar server --config "$CFG/ours-mtls-server.json" --pod-ip 127.85.200.22 --outbound-port 18422 --inbound-port 18420 --admin-port 18495 \
        --log-level error --cert "$CFG/bookstore/tls.crt" --key "$CFG/bookstore/tls.key" --ca "$CFG/bookstore/ca.crt" >"$OUT/server.log" 2>&1 & pids+=($!); SERVER=$!
    sidecar client --config "$CFG/ours-mtls-client.json" --pod-ip 127.85.200.21 --outbound-port 18421 --inbound-port 18420 --admin-port 18494 \
        --log-level error --cert "$CFG/bookbuyer/tls.crt" --key "$CFG/bookbuyer/tls.key" --ca "$CFG/bookbuyer/ca.crt" >"$OUT/client.log" 2>&1 & pids+=($!)
    TARGETS=$!,$SERVER; HOST=127.85.200.21; PORT=18421
fi

if [ -n "${CALLGRIND:-}" ]; then
    for _ in $(seq 60); do sleep 1; load 4 1 >"$OUT/warm.txt" 2>&1 && break; done
    # A task's control interface comes up some time after it starts: retry until it answers.
    for p in ${TARGETS//,/ }; do
        for _ in $(seq 30); do callgrind_control -i on "$p" 2>&1 | tee -a "$OUT/control.log" | grep -q OK && break; sleep 1; done
    done
    load "${CONNS:-1}" "$SECS" >"$OUT/load.txt" 2>&1
    for p in ${TARGETS//,/ }; do callgrind_control -i off "$p" >>"$OUT/control.log" 2>&1; callgrind_control -d "$p" >>"$OUT/control.log" 2>&1; done
    sleep 1
    # Each sidecar's dump: its instructions, and its calls of malloc (the call counts of malloc's
    # callers in the caller tree), summed over the sidecars of the path.
    python3 - "$(requests "$OUT/load.txt")" "$MODE" "$OUT"/cg-*.out.* <<'PY'
import os, re, subprocess, sys
requests, mode, files = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
latest = {}
for f in files:
    role = f.rsplit(".", 1)[0]
    if role not in latest or os.path.getmtime(f) > os.path.getmtime(latest[role]):
        latest[role] = f
instructions = mallocs = 0
for f in latest.values():
    lines = subprocess.run(["callgrind_annotate", "--tree=caller", f], capture_output=True, text=True).stdout.split("\n")
    for i, line in enumerate(lines):
        if "PROGRAM TOTALS" in line:
            instructions += int(line.split()[0].replace(",", ""))
        if re.search(r"\*  \S*:malloc \[", line):
            j = i - 1
            while j >= 0 and lines[j].strip():
                m = re.search(r"\((\d[\d,]*)x\)", lines[j])
                mallocs += int(m.group(1).replace(",", "")) if m else 0
                j -= 1
print(f"callgrind {mode} requests={requests} instructions/req={instructions // requests} "
      f"mallocs/req={mallocs / requests:.1f} profiles={' '.join(sorted(latest.values()))}")
PY
    exit 0
fi

if [ -n "${COUNT:-}" ]; then perf probe -q -x "$(ldd "$FSM" | awk '/libc.so/{print $3}')" --add malloc; fi
sleep 1.5
load 64 1 >"$OUT/warm.txt" 2>&1
perf stat -x, -e "task-clock,raw_syscalls:sys_enter,context-switches${COUNT:+,probe_libc:malloc}" -p "$TARGETS" -o "$OUT/perf.txt" & PERF=$!
sleep 0.2
load 64 "$SECS" >"$OUT/load.txt" 2>&1
kill -INT $PERF; wait $PERF 2>/dev/null
REQ=$(requests "$OUT/load.txt")
field() { grep "$1" "$OUT/perf.txt" | cut -d, -f1; }
per() { echo "scale=${2:-2}; $1/$REQ" | bc; }
echo "perf $MODE requests=$REQ cpu_us/req=$(per "$(field task-clock)*1000") syscalls/req=$(per "$(field sys_enter)")" \
    "switches/req=$(per "$(field context-switches)" 3)${COUNT:+ mallocs/req=$(per "$(field malloc)" 1)} load=$(cut -d' ' -f1 /proc/loadavg)"
