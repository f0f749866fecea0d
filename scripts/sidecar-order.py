#!/usr/bin/env python3
"""The sidecar's link order (issue 11 item 3, DECISIONS 257-259): the functions a sidecar runs, first
in the binary, so that the pages it touches are few and side by side.

A process keeps resident the page-cache pages the kernel maps around every page of its binary it
touches (fault-around: 64 KiB, or a whole large folio), so code spread over a 35 MB `.text` costs
about as much as the whole of it. lld places the input sections that hold the symbols of a
`--symbol-ordering-file` first, in the file's order; with every function in a section of its own
(`-Xfrontend -function-sections`) the sidecar's code ends up in one run of pages.

  sidecar-order.py profile --fsm BIN --bench BENCH --config CONFIG [--seconds 10] [--out DIR]
      runs BIN (a copy without its debug sections: valgrind 3.19 reads no DWARF 5) under callgrind
      from its first instruction: start until /ready, then a closed-loop `bench load` while the
      admin port's /ready, /stats and the Prometheus port's /stats/prometheus are read, then SIGTERM. One
      profile part per phase (start, load, stop) in DIR; prints instructions per request of the
      load part. The sidecar listens on --pod-ip (127.121.0.1) and ports from --port-base (28500:
      outbound +1, Prometheus +10, admin +91); `bench upstream` on 127.0.0.1:--upstream-port
      (28180), which CONFIG's bookstore endpoint must name.
  sidecar-order.py generate --binary BIN PART... > scripts/sidecar-order.txt
      the ordering file: every function of BIN that ran in the load part, most instructions
      first, then those that ran only at start or stop; `#` lines say where it came from.
  sidecar-order.py check --binary BIN [--order scripts/sidecar-order.txt]
      how many of the file's symbols BIN defines and where they landed: the span of `.text` they
      occupy (one run of pages when the order was applied). A symbol the file names and BIN lacks
      (renamed or gone since the profile) is only left where the linker puts it: a stale file
      costs resident pages, never behaviour. Exits 0; prints "stale" below 90%.

Why callgrind: it runs every basic block through its instrumentation, so every function the run
executed is in the profile, once or a million times; a sampling profiler (perf record) misses the
functions that run rarely (start, a config update), and those cost a page each all the same.
What it cannot know is code the run did not execute: error paths, TLS when the peers are plain,
an update of the config; the first touch of each costs one fault-around (64-128 KiB)."""
import argparse
import collections
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ORDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sidecar-order.txt")


def fetch(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()
            return response.status
    except Exception:
        return 0


def wait_ready(url, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if fetch(url) == 200:
            return True
        time.sleep(0.5)
    return False


def parts_in(out):
    return [p for p in os.listdir(out) if p.startswith("callgrind.out")]


def dump(pid, out):
    """Asks callgrind in PID to write its counts so far as the next part (and zero them)."""
    before = len(parts_in(out))
    for _ in range(60):
        result = subprocess.run(["callgrind_control", "-d", str(pid)], capture_output=True, text=True)
        if "OK" in result.stdout:
            break
        time.sleep(1)
    for _ in range(60):
        if len(parts_in(out)) > before:
            return
        time.sleep(0.5)
    sys.exit(f"sidecar-order: callgrind in process {pid} wrote no part: {result.stdout.strip()} {result.stderr.strip()}")


def profile(args):
    out = args.out or tempfile.mkdtemp(prefix="sidecar-order-")
    os.makedirs(out, exist_ok=True)
    for old in parts_in(out):
        os.remove(os.path.join(out, old))
    binary = os.path.join(out, os.path.basename(args.fsm))
    subprocess.run(["objcopy", "--strip-debug", args.fsm, binary], check=True)
    os.chmod(binary, 0o755)
    outbound, prometheus, admin = args.port_base + 1, args.port_base + 10, args.port_base + 91
    admin_url, metrics_url = f"http://{args.pod_ip}:{admin}", f"http://{args.pod_ip}:{prometheus}/stats/prometheus"
    children = []
    try:
        children.append(subprocess.Popen([args.bench, "upstream", "--host", "127.0.0.1", "--port", str(args.upstream_port)],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        command = ["valgrind", "--tool=callgrind", "--demangle=no", "--dump-instr=no",
                   f"--callgrind-out-file={out}/callgrind.out", binary]
        command += ["sidecar"] if os.path.basename(args.fsm) == "fsm" else []
        command += ["--config", args.config, "--pod-ip", args.pod_ip, "--outbound-port", str(outbound),
                    "--inbound-port", str(args.upstream_port), "--admin-port", str(admin), "--prometheus-port", str(prometheus),
                    "--log-level", "error", "--insecure-plaintext-peers"]
        sidecar = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=open(os.path.join(out, "valgrind.log"), "w"))
        children.append(sidecar)
        if not wait_ready(admin_url + "/ready", 180):
            sys.exit("sidecar-order: the sidecar never answered /ready under callgrind (see valgrind.log)")
        dump(sidecar.pid, out)
        load = subprocess.Popen([args.bench, "load", "--host", args.pod_ip, "--port", str(outbound), "--host-header",
                                 "bookstore.bookstore:14001", "--path", "/books-bought", "--closed", "--connections", "4",
                                 "--seconds", str(args.seconds)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        # What a kubelet and a Prometheus server do to every sidecar while it serves.
        while load.poll() is None:
            for url in (admin_url + "/ready", admin_url + "/stats", metrics_url):
                fetch(url)
            time.sleep(1)
        report = load.stdout.read()
        dump(sidecar.pid, out)
        sidecar.send_signal(signal.SIGTERM)
        sidecar.wait(timeout=120)
        words = report.split()
        requests = int(words[words.index("requests") + 1]) if "requests" in words else 0
        parts = sorted(parts_in(out), key=part_number)
        load_part = os.path.join(out, parts[1]) if len(parts) > 1 else None
        instructions = total_instructions(load_part) if load_part else 0
        print(f"profile parts: {' '.join(os.path.join(out, p) for p in parts)}")
        print(f"load: {requests} requests; {instructions // max(requests, 1)} instructions per request (user space, all threads)")
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()


def part_number(name):
    """callgrind.out.1 (start), .2 (load), then callgrind.out (at exit)."""
    suffix = name.rsplit(".", 1)[-1]
    return int(suffix) if suffix.isdigit() else 1 << 30


def total_instructions(path):
    for line in open(path):
        if line.startswith(("summary:", "totals:")):
            return int(line.split()[1])
    return 0


def self_costs(path, binary_name):
    """Self instructions per function of the object named binary_name, from one callgrind part."""
    names, objects, costs = {}, {}, collections.Counter()
    current_object = current_function = None
    after_call = False

    def resolve(table, value):
        match = re.match(r"^\((\d+)\)(?:\s+(.*))?$", value)
        if not match:
            return value
        if match.group(2) is not None:
            table[match.group(1)] = match.group(2)
        return table.get(match.group(1), value)

    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        if line.startswith("ob="):
            current_object = resolve(objects, line[3:])
        elif line.startswith("fn="):
            current_function = resolve(names, line[3:])
            after_call = False
        elif line.startswith(("cfn=", "cob=")):
            resolve(names if line.startswith("cfn=") else objects, line[4:])
        elif line.startswith("calls="):
            after_call = True
        elif line and (line[0].isdigit() or line[0] in "+-*"):
            if after_call:
                after_call = False
                continue
            fields = line.split()
            if len(fields) > 1 and current_function and current_object and os.path.basename(current_object) == binary_name:
                costs[current_function] += int(fields[1])
    return costs


def generate(args):
    parts = sorted(args.parts, key=lambda p: part_number(os.path.basename(p)))
    name = os.path.basename(args.binary)
    per_part = [self_costs(p, name) for p in parts]
    defined = defined_symbols(args.binary)
    load = per_part[1] if len(per_part) > 1 else collections.Counter()
    others = collections.Counter()
    for index, costs in enumerate(per_part):
        if index != 1:
            others.update(costs)
    hot = [f for f, _ in load.most_common() if f in defined]
    cold = [f for f, _ in others.most_common() if f in defined and f not in load]
    # Every protocol conformance descriptor: the runtime reads all of them on a conformance cache
    # miss (they order .rodata, apart from the functions that order .text).
    conformances = sorted(s for s in defined if s.startswith("$s") and s.endswith("Mc")) if args.conformances else []
    print(f"# The sidecar's functions, first in its binary (scripts/sidecar-order.py; DECISIONS 257).")
    print(f"# Generated by `sidecar-order.py generate` from a callgrind profile of {name}: {len(hot)} functions")
    print(f"# that ran under load (most instructions first), then {len(cold)} that ran only at start or stop"
          + (f", then {len(conformances)} conformance descriptors." if conformances else "."))
    for symbol in hot + cold + conformances:
        print(symbol)


def defined_symbols(binary):
    out = subprocess.run(["nm", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    return {line.split(" ", 2)[2] for line in out.splitlines() if line.count(" ") >= 2}


def sized_symbols(binary):
    """Address, size and nm type letter of every defined symbol with a size."""
    out = subprocess.run(["nm", "-S", "--defined-only", binary], capture_output=True, text=True, check=True).stdout
    table = {}
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) == 4:
            table[parts[3]] = (int(parts[0], 16), int(parts[1], 16), parts[2])
    return table


def check(args):
    if not os.path.exists(args.order):
        print(f"sidecar-order: no ordering file {args.order}: the binary keeps the linker's own order (more resident text, same behaviour)")
        return
    if not os.path.exists(args.binary):
        sys.exit(f"sidecar-order: no binary {args.binary} to check the ordering file against")
    listed = [line.strip() for line in open(args.order) if line.strip() and not line.startswith("#")]
    table = sized_symbols(args.binary)
    found = [table[s] for s in listed if s in table]
    code = [(a, n) for a, n, kind in found if kind in "tTwW"]
    share = len(found) / max(len(listed), 1)
    if code:
        low, high = min(a for a, _ in code), max(a + n for a, n in code)
        where = f"their code ({sum(n for _, n in code) // 1024} KiB) spans {(high - low) // 1024} KiB of .text from {low:#x}"
    else:
        where = "no ordered function is in the binary"
    verdict = "stale: regenerate it with `make sidecar-order`" if share < 0.9 else "current"
    print(f"sidecar-order: {len(found)} of {len(listed)} ordered symbols in {os.path.basename(args.binary)} ({share:.0%}, {verdict}); {where}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("profile")
    run.add_argument("--fsm", required=True, help="the static release sidecar binary (fsm-sidecar, or fsm)")
    run.add_argument("--bench", required=True, help="a release bench binary (upstream and load)")
    run.add_argument("--config", required=True, help="the bookstore client config; its endpoint 127.0.0.1:<upstream port>")
    run.add_argument("--seconds", type=float, default=10)
    run.add_argument("--out")
    run.add_argument("--pod-ip", default="127.121.0.1")
    run.add_argument("--upstream-port", type=int, default=28180)
    run.add_argument("--port-base", type=int, default=28500)
    make = commands.add_parser("generate")
    make.add_argument("--binary", required=True, help="the profiled binary (its symbol table decides what is listed)")
    make.add_argument("--conformances", action="store_true", help="also list every protocol conformance descriptor (…Mc), grouped")
    make.add_argument("parts", nargs="+", help="callgrind.out.1 (start), .2 (load), callgrind.out (stop)")
    verify = commands.add_parser("check")
    verify.add_argument("--binary", required=True)
    verify.add_argument("--order", default=ORDER)
    args = parser.parse_args()
    {"profile": profile, "generate": generate, "check": check}[args.command](args)


if __name__ == "__main__":
    main()
