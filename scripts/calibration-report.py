#!/usr/bin/env python3
"""Modelled vs measured latency of the two-sidecar path (issue 4, simulator calibration).

Usage: calibration-report.py BENCH_JSON SIM_JSON
BENCH_JSON: bench/dataplane.json from `bench dataplane` (latency in microseconds per mode and
connection count). SIM_JSON: `sim bench/dataplane-calibration.yaml --json -` (loads direct-cN and
mesh-cN, latency in ms). Prints a Markdown table of the latency the two sidecars add over the direct
path at P50 and P99, measured and modelled, and the P50 ratio; exits 1 when a P50 ratio is off by
more than 25% (the issue's target)."""
import json
import sys

bench = json.load(open(sys.argv[1]))
sim = json.load(open(sys.argv[2]))
measured = {(run["mode"], run["connections"]): run for run in bench["latency"]}
loads = sim["loads"]
print("| c | measured added P50 ms | modelled added P50 ms | modelled / measured | measured added P99 ms | modelled added P99 ms |")
print("|---|---|---|---|---|---|")
worst = 0.0
for c in (2, 4, 8, 16, 32, 64):
    base, both = measured.get(("baseline", c)), measured.get(("ours-both", c))
    direct, mesh = loads.get(f"direct-c{c}"), loads.get(f"mesh-c{c}")
    if not (base and both and direct and mesh):
        continue
    m50 = (both["p50"] - base["p50"]) / 1000
    m99 = (both["p99"] - base["p99"]) / 1000
    s50 = mesh["latencyMs"]["p50"] - direct["latencyMs"]["p50"]
    s99 = mesh["latencyMs"]["p99"] - direct["latencyMs"]["p99"]
    ratio = s50 / m50 if m50 > 0 else float("inf")
    worst = max(worst, abs(ratio - 1))
    print(f"| {c} | {m50:.3f} | {s50:.3f} | {ratio:.2f} | {m99:.3f} | {s99:.3f} |")
print(f"\nlargest P50 deviation: {worst * 100:.0f}% (target: within 25%)")
sys.exit(0 if worst <= 0.25 else 1)
