# The README's two commands: `swift run sim scenarios/canary.yaml` and `make test`.
SWIFT ?= swift
SCENARIOS := $(wildcard scenarios/*.yaml)

.PHONY: test build sim scenarios check-determinism bench-sim clean

test:
	$(SWIFT) test

build:
	$(SWIFT) build

# Run every shipped scenario, then check each is byte-identical across two runs with one seed.
scenarios: build
	$(SWIFT) run sim $(SCENARIOS) --quiet

check-determinism: build
	$(SWIFT) run sim $(SCENARIOS) --quiet --check-determinism

# Simulator throughput and memory (release build); writes bench/sim-results.txt (see docs/BENCHMARKS.md).
bench-sim:
	$(SWIFT) build -c release --product sim
	./scripts/bench-sim.sh

clean:
	rm -rf .build
