#!/usr/bin/env bash
# Simulator throughput and peak memory, release build. Writes bench/sim-results.txt.
# Usage: scripts/bench-sim.sh [SIM_BINARY] (after `swift build -c release --product sim`; `make bench-sim` does both).
# Each run: the scenario's own expectations must pass (exit 0), and the report's counts are printed
# so that the generated scale scenario can be checked to be what it claims (pods, requests).
set -euo pipefail
cd "$(dirname "$0")/.."
sim=${1:-.build/release/sim}
out=bench/sim-results.txt
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ -x "$sim" ] || { echo "bench-sim: no simulator at $sim (build it with: swift build -c release --product sim)" >&2; exit 2; }

python3 scripts/gen-scale-scenario.py 1000 10 1000000 "$work/scale-1000x10.yaml"
python3 scripts/gen-scale-scenario.py 100 10 100000 "$work/scale-100x10.yaml"
python3 scripts/gen-scale-scenario.py 10 2 60000 "$work/scale-10x2.yaml"

failed=0
{
  echo "# scripts/bench-sim.sh, $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
  echo "# machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo) RAM, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# binary: $sim"
  for f in bench/bookstore-1000rps.yaml "$work/scale-10x2.yaml" "$work/scale-100x10.yaml" "$work/scale-1000x10.yaml"; do
    rc=0
    /usr/bin/time -f "wall_s=%e user_s=%U sys_s=%S peak_rss_kb=%M" -o "$work/time.txt" "$sim" "$f" --quiet --json "$work/report.json" || rc=$?
    if [ ! -s "$work/report.json" ]; then
      echo "$(basename "$f") FAILED: exit $rc, no report"
      failed=1
      continue
    fi
    [ "$rc" = 0 ] || failed=1
    services=$(grep -c "kind: Service$" "$f" || true)
    counts=$(python3 -c "
import json, sys
d = json.load(open('$work/report.json'))
print('passed=%s requests=%d pods_meshed=%d deployments=%d' % (
    str(d['passed']).lower(), sum(l['requests'] for l in d['loads'].values()), len(d['proxies']), len(d['apps'])))")
    wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' "$work/time.txt")
    user=$(sed -n 's/.*user_s=\([0-9.]*\).*/\1/p' "$work/time.txt")
    rss=$(sed -n 's/.*peak_rss_kb=\([0-9]*\).*/\1/p' "$work/time.txt")
    requests=$(echo "$counts" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
    rate=$(python3 -c "print(int($requests / max($wall, 0.01)))")
    echo "$(basename "$f") exit=$rc $counts services=$services wall_s=$wall user_s=$user peak_rss_mb=$((rss / 1024)) simulated_requests_per_wall_s=$rate"
    rm -f "$work/report.json"
  done
} | tee "$out"
exit $failed
