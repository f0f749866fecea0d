#!/usr/bin/env bash
# Simulator throughput and peak memory, release build. Writes bench/sim-results.txt.
# Usage: scripts/bench-sim.sh (after `swift build -c release --product sim`).
set -euo pipefail
cd "$(dirname "$0")/.."
sim=.build/release/sim
out=bench/sim-results.txt
mkdir -p bench/generated
python3 scripts/gen-scale-scenario.py 1000 10 1000000 bench/generated/scale.yaml
python3 scripts/gen-scale-scenario.py 10 2 60000 bench/generated/small.yaml
{
  echo "# scripts/bench-sim.sh on $(uname -m), $(nproc) cores, $(date -u +%Y-%m-%d)"
  for f in bench/bookstore-1000rps.yaml bench/generated/small.yaml bench/generated/scale.yaml; do
    /usr/bin/time -f "wall_s=%e peak_rss_kb=%M" -o /tmp/bench-time.txt "$sim" "$f" --quiet --json /tmp/bench-report.json || true
    requests=$(python3 -c "import json;d=json.load(open('/tmp/bench-report.json'));print(sum(l['requests'] for l in d['loads'].values()))")
    wall=$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' /tmp/bench-time.txt)
    rss=$(sed -n 's/.*peak_rss_kb=\([0-9]*\).*/\1/p' /tmp/bench-time.txt)
    rate=$(python3 -c "print(int($requests/max($wall,0.001)))")
    echo "$f requests=$requests wall_s=$wall peak_rss_mb=$((rss/1024)) simulated_requests_per_wall_s=$rate"
  done
} | tee "$out"
