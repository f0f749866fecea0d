# The README's two commands: `swift run sim scenarios/canary.yaml` and `make test`.
SWIFT ?= swift
SCENARIOS := $(wildcard scenarios/*.yaml)

.PHONY: test build sim scenarios check-determinism bench-sim bench bench-quick bench-build sidecar-order fuzz fuzz-build clean setup image validate-manifests deploy-manifests e2e-k8s

# Installs the Debian packages first (iptables, iproute2 for the capture tests, libbpf-dev for eBPF
# capture); without root the capture tests skip with a printed reason instead.
# At most TEST_WIDTH tests run at once (swift-testing runs every test in parallel by default): the
# suites drive real sockets, processes and network namespaces with wall-clock deadlines, and on a
# 2-core machine hundreds of them at once starve each other's deadlines.
TEST_WIDTH ?= 3

test:
	./scripts/setup-system.sh || echo "make test: system packages not installed; tests that need them will skip"
	SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH=$(TEST_WIDTH) $(SWIFT) test

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

# The whole benchmark (issue 4), in one run on one machine (release builds; the peers come from
# scripts/setup-bench.sh): the data plane (our sidecar beside Envoy, HAProxy and NGINX, every mode
# at c=2..64 and 1000 QPS, closed loop, wrk cross-check) -> bench/dataplane.{csv,json,html}; the
# gateway (issue 12: `fsm gateway` beside NGINX and Envoy as edge proxies, open loop at c=2..64,
# closed loop plain and TLS-terminating, peak RSS) -> bench/gateway.{json,md} and "## Gateway"; the
# simulator calibration (modelled vs measured two-sidecar latency) -> bench/calibration.md; the
# control plane at 100/1,000/5,000 services -> bench/control-plane.md; the simulator's own speed
# and memory -> bench/sim-results.{txt,md}. Each step writes its generated section of
# docs/BENCHMARKS.md (the data plane's "## Data plane", the others "## ... (make bench)").
# As root it also runs `bench capture`: the two-sidecar path under local mode, iptables and eBPF
# capture (with and without the sockmap shortcut) -> bench/capture.md and "## Traffic capture".
# `bench-quick` (under 4 minutes once built) runs c=4,32 for 3 s each into bench/quick/ only.
# The sidecar under test is built as it ships in an image (scripts/build-static.sh, the same
# build as `make image`): `fsm-sidecar` (the injected sidecar's command; `bench dataplane` runs it
# when it sits beside --fsm) with the Swift standard library linked statically (about 2.5 MiB less
# resident memory per sidecar), every function in a section of its own and linked by lld with the
# sidecar's functions first (scripts/sidecar-order.txt), in its own scratch path so that the other
# release products keep theirs.
FSM_STATIC := .build-static/release/fsm

bench-build:
	SWIFT=$(SWIFT) ./scripts/build-static.sh fsm .build-static
	SWIFT=$(SWIFT) ./scripts/build-static.sh fsm-sidecar .build-static
	$(SWIFT) build -c release --product bench
	$(SWIFT) build -c release --product sim

bench: bench-build
	ENVOY="$$(./scripts/setup-bench.sh | sed -n 's/^ENVOY=//p')" && export ENVOY && \
	  .build/release/bench dataplane --fsm $(FSM_STATIC) --out-dir bench --write-docs && \
	  .build/release/bench gateway --fsm $(FSM_STATIC) --out-dir bench --write-docs
	.build/release/sim bench/dataplane-calibration.yaml --json bench/calibration-sim.json --quiet
	-./scripts/calibration-report.py bench/dataplane.json bench/calibration-sim.json | tee bench/calibration.md
	./scripts/splice-benchmarks.py "Simulator calibration (make bench)" "make bench" bench/calibration.md
	@if [ "$$(id -u)" = 0 ]; then \
	  .build/release/bench capture --fsm $(FSM_STATIC) --out bench/capture.md && \
	  ./scripts/splice-benchmarks.py "Traffic capture (make bench)" "make bench" bench/capture.md; \
	else echo "bench capture skipped: it needs root (network namespaces, cgroups, iptables, eBPF)"; fi
	.build/release/bench control-plane --out bench/control-plane.md
	./scripts/splice-benchmarks.py "Control plane (make bench)" "make bench" bench/control-plane.md
	-./scripts/bench-sim.sh .build/release/sim
	./scripts/splice-benchmarks.py "Simulator (make bench)" "make bench" bench/sim-results.md

# Regenerates the sidecar's link order (scripts/sidecar-order.txt; DECISIONS 257) from a callgrind
# profile of the static fsm serving the bookstore client config (bench/sidecar-order-client.json,
# its upstream on 127.0.0.1:28180) from its start through a closed-loop load to its stop; then
# relinks. Needs valgrind. Run it when `make bench-build` says the file is stale.
sidecar-order: bench-build
	./scripts/sidecar-order.py profile --fsm $(FSM_STATIC) --bench .build/release/bench \
	  --config bench/sidecar-order-client.json --out .build/sidecar-order
	./scripts/sidecar-order.py generate --binary $(FSM_STATIC) .build/sidecar-order/callgrind.out* > scripts/sidecar-order.txt.new
	mv scripts/sidecar-order.txt.new scripts/sidecar-order.txt
	SWIFT=$(SWIFT) ./scripts/build-static.sh fsm .build-static

bench-quick: bench-build
	ENVOY="$$(./scripts/setup-bench.sh | sed -n 's/^ENVOY=//p')" && export ENVOY && \
	  .build/release/bench dataplane --quick --fsm $(FSM_STATIC) --out-dir bench/quick && \
	  .build/release/bench gateway --quick --fsm $(FSM_STATIC) --out-dir bench/quick

# The control plane's manifests (deploy/fsm.yaml is `fsm install --dry-run` with the defaults; a test
# keeps them equal) and their checks: kubernetes-validate --strict for every document, the sample
# resources and the scenarios' custom resources against the CRD schemas with check-jsonschema, in
# a virtual environment under .build (scripts/setup-validate.sh; needs PyPI the first time).
deploy-manifests:
	$(SWIFT) build --product fsm
	$$($(SWIFT) build --show-bin-path)/fsm install --dry-run > deploy/fsm.yaml

validate-manifests:
	./scripts/setup-validate.sh
	$(SWIFT) build --product fsm
	$$($(SWIFT) build --show-bin-path)/fsm install --dry-run > .build/fsm-install.yaml
	.build/validate-venv/bin/python scripts/validate-manifests.py .build/fsm-install.yaml deploy/samples scenarios

# The one image of every component (Containerfile), built offline with Debian's buildah
# (scripts/setup-image.sh installs it), checked by running its fsm from the image's root.
image:
	./scripts/setup-image.sh
	./scripts/build-image.sh

# The contract test against a real cluster; without KUBECONFIG it says why it skipped.
e2e-k8s:
	KUBECONFIG="$(KUBECONFIG)" ./scripts/e2e-k8s.sh
# Fuzzing (issue 9 item 10): libFuzzer targets for the scenario parser, the manifest decoder (and
# the controller behind it), the config JSON a sidecar reads from the controller, and the sidecar's
# request path (Sources/Fuzz; docs/RELIABILITY.md says what each checks). They exist only with
# FUZZ=1 and are built with the fuzzer and address sanitizers in their own scratch path. Seeds come
# from the shipped scenarios, samples and configs (`sim --dump-config`) and fuzz/seeds; each target
# runs until FUZZ_RUNS executions (1,000,000) or FUZZ_SECONDS (300 s); crashing inputs go to
# fuzz/findings/<target>/ and the numbers into docs/RELIABILITY.md. `make test` does not fuzz (its
# MeshFuzzTests run the same entry functions over the seeds).
FUZZ_TARGETS ?= fuzz-config-json fuzz-scenario fuzz-manifest fuzz-sidecar

fuzz-build:
	$(SWIFT) build --product sim
	for target in $(FUZZ_TARGETS); do \
	  FUZZ=1 $(SWIFT) build -c release --sanitize=fuzzer --sanitize=address --scratch-path .build-fuzz --product $$target || exit 1; \
	done

fuzz: fuzz-build
	./scripts/fuzz-corpus.sh "$$($(SWIFT) build --show-bin-path)/sim"
	FUZZ_TARGETS="$(FUZZ_TARGETS)" ./scripts/fuzz-run.sh

clean:
	rm -rf .build
