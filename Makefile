# The README's two commands: `swift run sim scenarios/canary.yaml` and `make test`.
SWIFT ?= swift
SCENARIOS := $(wildcard scenarios/*.yaml)

.PHONY: test build sim scenarios check-determinism bench-sim clean setup

# Installs the Debian packages first (iptables, iproute2 for the capture tests); without root the
# capture tests skip with a printed reason instead.
test:
	./scripts/setup-system.sh || echo "make test: system packages not installed; tests that need them will skip"
	$(SWIFT) test

# Debian packages the project needs (iptables, iproute2 for traffic capture); idempotent.
setup:
	./scripts/setup-system.sh

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
