#!/usr/bin/env python3
"""What a sidecar keeps resident (issue 11 item 3): smaps of one `fsm sidecar` with the bookstore
client config that `bench dataplane` writes, idle and after a 1000 QPS load.

Usage: sidecar-memory.py --fsm FSM --bench BENCH --config CONFIG [--seconds 10] [--env K=V ...]
                         [--closed-seconds N] [--sections] [--resident-pages] [--evict]
                         [--pod-ip IP --upstream-port PORT --port-base BASE]
       sidecar-memory.py --fsm FSM --check-closure
FSM: the sidecar binary (`.build-static/release/fsm`, or `fsm-sidecar`; the subcommand `sidecar`
is given when the binary is named fsm). BENCH: a release `bench` (for `bench upstream` and
`bench load`). CONFIG: the `ours-client.json` a `bench dataplane` run leaves in its temporary
directory, its bookstore endpoint changed to 127.0.0.1:28080. Prints a Markdown table of Rss/Pss
per mapping group (binary text, data and rodata, shared libraries, heap, thread stacks,
anonymous), the threads and VmHWM, idle and after a 1000 QPS load. The sidecar listens on
127.120.0.1 (outbound 28401, admin 28491, Prometheus 28410), the upstream on 127.0.0.1:28080;
everything it starts is stopped before it exits. `--pod-ip`, `--upstream-port` (the config's
endpoint must name it) and `--port-base` (outbound BASE+1, Prometheus BASE+10, admin BASE+91) move
them, so that two engineers' runs on one machine do not meet. With `--closed-seconds N`, a
closed-loop load over 16 connections follows the snapshot: the sidecar's req/s and its CPU
milliseconds per 1000 requests (utime + stime from /proc, 10 ms ticks), so a build that costs speed
shows beside the memory it saves. With `--sections`, the binary's resident KiB per ELF section after
the load (`resident-pages.py --sections`: which of .text, .rela.dyn, .dynstr, swift5_*, ... the
pages hold). With `--evict`, the binary's pages leave the page cache before the sidecar starts
(fdatasync and POSIX_FADV_DONTNEED on that one file), so that every build is read as a node reads
a new image, in the folios readahead makes, rather than in those the linker's writes left
(`--cold` is the same). With `--resident-pages`, which modules its resident pages hold
(resident-pages.py). A sidecar already answering on the admin port stops the run.

--check-closure: which of the toolchain's Foundation libraries and Yams the (static) binary links,
counted as the symbols it defines that each library's archive defines strongly; exits 1 when Foundation,
FoundationInternationalization, CoreFoundation, _FoundationICU or Yams is linked (FoundationEssentials
is allowed: async-http-client, swift-certificates and swift-crypto use it; DECISIONS 253-254)."""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

UPSTREAM, PORT_BASE = 28080, 28400
POD_IP = "127.120.0.1"


def groups(pid, binary):
    """Rss and Pss (KiB) summed per kind of mapping."""
    out, current, kind = {}, None, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
            if head:
                perms, path = head.group(3), head.group(4).strip()
                size = (int(head.group(2), 16) - int(head.group(1), 16)) // 1024
                if path.endswith(os.path.basename(binary)):
                    kind = "binary text (r-x)" if "x" in perms else ("binary data (rw)" if "w" in perms else "binary rodata (r--)")
                elif path == "[heap]":
                    kind = "heap (brk)"
                elif path.startswith("[stack"):
                    kind = "main stack"
                elif path.startswith("/"):
                    kind = "file: " + os.path.basename(path)
                elif path.startswith("["):
                    kind = path
                elif perms == "---p":
                    kind = "guard pages"
                elif size in (8192, 8196) or size == 8188:
                    kind = "anon 8 MiB (thread stacks)"
                elif size >= 60000:
                    kind = "anon >= 60 MiB (malloc arenas)"
                else:
                    kind = "anon other (mmap'd malloc, NIO buffers)"
                current = out.setdefault(kind, {"Rss": 0, "Pss": 0, "mappings": 0})
                current["mappings"] += 1
                continue
            field = re.match(r"^(Rss|Pss):\s+(\d+) kB", line)
            if field and current is not None:
                current[field.group(1)] += int(field.group(2))
    return out


def status(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return line.split(":", 1)[1].strip()
    return "?"


def snapshot(pid, binary):
    return {"groups": groups(pid, binary), "VmRSS": status(pid, "VmRSS"), "VmHWM": status(pid, "VmHWM"),
            "Threads": status(pid, "Threads"), "threads": sorted(open(f"/proc/{pid}/task/{t}/comm").read().strip() for t in os.listdir(f"/proc/{pid}/task"))}


def wait_ready(url, deadline):
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return True
        except Exception:
            time.sleep(0.1)
    return False


def table(idle, loaded):
    kinds = sorted(set(idle["groups"]) | set(loaded["groups"]), key=lambda k: -loaded["groups"].get(k, {"Rss": 0})["Rss"])
    lines = ["| mapping | idle Rss KiB | loaded Rss KiB | loaded Pss KiB | mappings |", "|---|---|---|---|---|"]
    for kind in kinds:
        a, b = idle["groups"].get(kind, {"Rss": 0}), loaded["groups"].get(kind, {"Rss": 0, "Pss": 0, "mappings": 0})
        if a["Rss"] == 0 and b["Rss"] == 0:
            continue
        lines.append(f"| {kind} | {a['Rss']} | {b['Rss']} | {b['Pss']} | {b['mappings']} |")
    total = lambda s: sum(g["Rss"] for g in s["groups"].values())
    lines.append(f"| total | {total(idle)} | {total(loaded)} | | |")
    lines.append("")
    lines.append(f"VmRSS idle {idle['VmRSS']}, loaded {loaded['VmRSS']}; VmHWM {loaded['VmHWM']}; threads {loaded['Threads']}: {', '.join(loaded['threads'])}")
    return "\n".join(lines)


# The toolchain's static archives whose code the sidecar must not link, and the one it may.
FORBIDDEN = ["libFoundation.a", "libFoundationInternationalization.a", "libCoreFoundation.a", "lib_FoundationICU.a"]
ALLOWED = ["libFoundationEssentials.a"]


def defined_symbols(path):
    out = subprocess.run(["nm", "--defined-only", "--format=just-symbols", path], capture_output=True, text=True, check=True).stdout
    return {line for line in out.split("\n") if line}


def strong_symbols(archive):
    """The global symbols an archive defines strongly (code and data of its own: not the weak
    outlined copies, witness-table caches and C++ library pieces that every Swift or C++ archive
    carries a copy of)."""
    out = subprocess.run(["nm", "--defined-only", "--extern-only", archive], capture_output=True, text=True, check=True).stdout
    return {fields[2] for fields in (line.split() for line in out.split("\n")) if len(fields) == 3 and fields[1] in "TDBR"}


def static_library_directory():
    swift = shutil.which("swift")
    if swift is None:
        sys.exit("sidecar-memory: no swift on PATH (its static Foundation archives are the reference)")
    return os.path.join(os.path.dirname(os.path.realpath(swift)), "..", "lib", "swift_static", "linux")


def check_closure(binary):
    """Prints the symbols the binary defines of each library; false when a forbidden one is linked."""
    linked = defined_symbols(binary)
    directory = static_library_directory()
    ok = True
    print("| library | symbols linked |")
    print("|---|---|")
    for name in FORBIDDEN + ALLOWED:
        count = len(linked & strong_symbols(os.path.join(directory, name)))
        print(f"| {name} | {count} |")
        ok = ok and (count == 0 or name in ALLOWED)
    yams = sum(1 for symbol in linked if symbol.startswith("$s4Yams") or symbol.startswith("yaml_parser_"))
    print(f"| Yams (with libyaml) | {yams} |")
    return ok and yams == 0


def cpu_ticks(pid):
    """utime + stime of the process, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def closed_loop(bench, pid, host, port, seconds):
    """req/s and CPU ms per 1000 requests of the sidecar under a closed-loop load."""
    before = cpu_ticks(pid)
    load = subprocess.run([bench, "load", "--host", host, "--port", str(port), "--host-header", "bookstore.bookstore:14001",
                           "--path", "/books-bought", "--closed", "--connections", "16", "--seconds", str(seconds)], capture_output=True, text=True)
    ticks = cpu_ticks(pid) - before
    words = load.stdout.split()
    requests = int(words[words.index("requests") + 1]) if "requests" in words else 0
    if requests == 0:
        return "closed loop: no requests completed: " + " ".join((load.stdout + load.stderr).split()[:30])
    cpu_ms = ticks * 1000 / os.sysconf("SC_CLK_TCK")
    return f"closed loop: {requests} requests, {requests / seconds:.0f} req/s, CPU {cpu_ms * 1000 / requests:.1f} ms per 1000 requests"


def evict(path):
    """Drops the file's clean pages from the page cache (pages another process maps stay)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fsm", required=True)
    parser.add_argument("--check-closure", action="store_true", help="only check which Foundation libraries and Yams the binary links")
    parser.add_argument("--bench")
    parser.add_argument("--config", help="the bookstore client ProxyConfig JSON (its bookstore cluster pointing at 127.0.0.1:28080)")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--closed-seconds", type=float, default=0)
    parser.add_argument("--sections", action="store_true")
    parser.add_argument("--evict", "--cold", action="store_true", help="drop the binary's pages from the page cache first")
    parser.add_argument("--resident-pages", action="store_true", help="after the load, which modules the resident pages hold (resident-pages.py; root)")
    parser.add_argument("--pod-ip", default=POD_IP)
    parser.add_argument("--upstream-port", type=int, default=UPSTREAM, help="the port of `bench upstream` on 127.0.0.1, named by the config's endpoint")
    parser.add_argument("--port-base", type=int, default=PORT_BASE)
    args = parser.parse_args()
    if args.check_closure:
        if not check_closure(args.fsm):
            sys.exit(f"sidecar-memory: {args.fsm} links Foundation beyond FoundationEssentials, or Yams")
        return
    if args.bench is None or args.config is None:
        parser.error("--bench and --config are required to measure (all but --check-closure)")
    pod, upstream = args.pod_ip, args.upstream_port
    outbound, prometheus, admin = args.port_base + 1, args.port_base + 10, args.port_base + 91
    env = dict(os.environ)
    for pair in args.env:
        key, value = pair.split("=", 1)
        env[key] = value
    children = []
    try:
        if wait_ready(f"http://{pod}:{admin}/ready", time.time() + 0.5):
            sys.exit(f"sidecar-memory: a sidecar already answers on {pod}:{admin}; give another --pod-ip or --port-base")
        children.append(subprocess.Popen([args.bench, "upstream", "--host", "127.0.0.1", "--port", str(upstream)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        if args.evict:
            evict(args.fsm)
        command = [args.fsm] + (["sidecar"] if os.path.basename(args.fsm) == "fsm" else [])
        # The client-only pod reaches its peer on the peer's inbound port: the upstream's (as `bench dataplane`'s ours-client).
        command += ["--config", args.config, "--pod-ip", pod, "--outbound-port", str(outbound), "--inbound-port", str(upstream),
                    "--admin-port", str(admin), "--prometheus-port", str(prometheus), "--log-level", "error", "--insecure-plaintext-peers"]
        sidecar = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(sidecar)
        if not wait_ready(f"http://{pod}:{admin}/ready", time.time() + 10):
            sys.exit("sidecar-memory: the sidecar never answered /ready")
        time.sleep(1)
        idle = snapshot(sidecar.pid, args.fsm)
        load = subprocess.run([args.bench, "load", "--host", pod, "--port", str(outbound), "--host-header", "bookstore.bookstore:14001",
                               "--path", "/books-bought", "--connections", "16", "--qps", "1000", "--seconds", str(args.seconds)], capture_output=True, text=True)
        loaded = snapshot(sidecar.pid, args.fsm)
        print(table(idle, loaded))
        print()
        print("load: " + " ".join(load.stdout.split()[:40]))
        if args.sections:
            print()
            pages = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resident-pages.py")
            print(subprocess.run([sys.executable, pages, "--sections", str(sidecar.pid), args.fsm], capture_output=True, text=True).stdout)
        if args.resident_pages:
            print()
            pages = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resident-pages.py")
            subprocess.run([sys.executable, pages, str(sidecar.pid), args.fsm], check=False)
        if args.closed_seconds > 0:
            print(closed_loop(args.bench, sidecar.pid, pod, outbound, args.closed_seconds))
    finally:
        for child in reversed(children):
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()


if __name__ == "__main__":
    main()
