import MeshInterceptor
import Testing

@Suite struct InterceptorPreflightTests {
    static let allCapabilities: UInt64 = 0x1ff_ffff_ffff

    func facts(uid: UInt32 = 0, capabilities: UInt64? = allCapabilities, kernel: String = "6.1.0-18-amd64", btf: Bool = true,
               cgroups: [(String, InterceptorPreflight.PathKind)] = [("/sys/fs/cgroup/pod", .cgroup2)]) -> InterceptorPreflight.Facts {
        InterceptorPreflight.Facts(effectiveUID: uid, effectiveCapabilities: capabilities, kernelRelease: kernel, hasKernelBTF: btf,
                                   cgroups: cgroups.map { (path: $0.0, kind: $0.1) }, cgroup2Mount: "/sys/fs/cgroup/unified")
    }

    @Test func aCapableRootOnANewKernelWithCgroupV2Passes() {
        #expect(InterceptorPreflight.problems(facts()).isEmpty)
        #expect(InterceptorPreflight.problems(facts(kernel: "5.15.0-1034-azure")).isEmpty)
        #expect(InterceptorPreflight.problems(facts(kernel: "6.18.44-fc-v1272")).isEmpty)
    }

    @Test func notRootNamesTheCapabilities() {
        let problems = InterceptorPreflight.problems(facts(uid: 1001, capabilities: 0))
        #expect(problems == ["fsm interceptor needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN) to load eBPF programs and attach them to cgroups and interfaces; running as uid 1001 without them"])
        // Root without CAP_NET_ADMIN (a container's root) is refused too.
        #expect(InterceptorPreflight.problems(facts(capabilities: Self.allCapabilities & ~(1 << 12))).count == 1)
        // Capabilities unknown: root counts.
        #expect(InterceptorPreflight.problems(facts(capabilities: nil)).isEmpty)
        #expect(InterceptorPreflight.problems(facts(uid: 5, capabilities: nil)).count == 1)
    }

    @Test func tooOldOrUnreadableKernelsAreNamed() {
        #expect(InterceptorPreflight.problems(facts(kernel: "5.4.0-150-generic")) == [
            "the kernel is 5.4.0-150-generic, too old for eBPF capture: it needs Linux 5.15 or newer (sock_ops and sk_msg programs reading network namespace cookies); use --capture iptables",
        ])
        #expect(InterceptorPreflight.problems(facts(kernel: "4.19.0")).count == 1)
        #expect(InterceptorPreflight.problems(facts(kernel: "unknown")) == ["cannot read the kernel version from \"unknown\"; eBPF capture needs Linux 5.15 or newer"])
    }

    @Test func cgroupsMustBeCgroupV2Directories() {
        let problems = InterceptorPreflight.problems(facts(cgroups: [
            ("/sys/fs/cgroup/cpu/pod", .cgroup1), ("/sys/fs/cgroup/unified/gone", .missing), ("/tmp", .other(0x0102_1994)), ("/sys/fs/cgroup/unified/ok", .cgroup2),
        ]))
        #expect(problems == [
            "cgroup /sys/fs/cgroup/cpu/pod is on a cgroup v1 hierarchy: eBPF capture attaches to cgroup v2; give a directory under the cgroup v2 hierarchy mounted at /sys/fs/cgroup/unified",
            "cgroup /sys/fs/cgroup/unified/gone does not exist: create the pod's cgroup (mkdir) and put its processes in it first",
            "/tmp is not a cgroup directory: eBPF capture attaches to a cgroup v2 directory; give a directory under the cgroup v2 hierarchy mounted at /sys/fs/cgroup/unified",
        ])
    }

    @Test func everyProblemIsListedInOrder() {
        let problems = InterceptorPreflight.problems(facts(uid: 1001, capabilities: 0, kernel: "5.10.0", cgroups: [("/sys/fs/cgroup/cpu/x", .cgroup1)]))
        #expect(problems.count == 3)
        #expect(problems[0].hasPrefix("fsm interceptor needs root"))
        #expect(problems[1].hasPrefix("the kernel is 5.10.0"))
        #expect(problems[2].hasPrefix("cgroup /sys/fs/cgroup/cpu/x is on a cgroup v1 hierarchy"))
    }

    @Test func noKernelBTFIsANoteNotAProblem() {
        #expect(InterceptorPreflight.problems(facts(btf: false)).isEmpty)
        #expect(InterceptorPreflight.notes(facts(btf: false)).count == 1)
        #expect(InterceptorPreflight.notes(facts()).isEmpty)
    }
}
