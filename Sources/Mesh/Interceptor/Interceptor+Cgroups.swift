import CLibBPF
#if canImport(Glibc)
import Glibc
#endif

extension Interceptor {
    /// The cgroup hooks the programs use, with the program names: what a second interceptor would
    /// find attached.
    static let cgroupHooks: [(type: bpf_attach_type, name: String)] = [
        (BPF_CGROUP_INET4_CONNECT, "connect4"), (BPF_CGROUP_SOCK_OPS, "sock_ops"), (BPF_CGROUP_GETSOCKOPT, "getsockopt"),
    ]

    /// Refuses a cgroup where capture programs already run (attached to it or to a parent), which
    /// means another interceptor: two would rewrite every connection twice.
    func refuseOtherInterceptors(on cgroup: CgroupDirectory, pod: InterceptorPod) throws(InterceptorError) {
        for hook in Self.cgroupHooks {
            for (id, name) in Self.effectivePrograms(cgroup, hook.type) ?? [] where name.hasPrefix("fsm_") {
                throw InterceptorError("pod \(pod.name): cgroup \(cgroup.path) already runs \(name) (program id \(id), \(hook.name)): another fsm interceptor captures it or a parent cgroup; stop that one first (bpftool cgroup show \(cgroup.path) --effective)")
            }
        }
    }

    /// The programs in force for a cgroup on one hook (its own and inherited), by id and name; nil
    /// when the kernel would not say (errno set).
    static func effectivePrograms(_ cgroup: CgroupDirectory, _ type: bpf_attach_type) -> [(id: UInt32, name: String)]? {
        var ids = [UInt32](repeating: 0, count: 64)
        var count = UInt32(ids.count)
        let status = ids.withUnsafeMutableBufferPointer { bpf_prog_query(cgroup.descriptor, type, UInt32(BPF_F_QUERY_EFFECTIVE), nil, $0.baseAddress, &count) }
        guard status == 0 else { return nil }
        return ids.prefix(Int(count)).map { id in
            var name = [CChar](repeating: 0, count: 32)
            let named = fsm_program_name(id, &name, name.count) == 0
            return (id, named ? String(cString: name) : "")
        }
    }

    /// Links the cgroup programs to the pod's cgroup and pins the links, so that capture outlives a
    /// killed interceptor (the next one removes the pins, which detaches them, and links afresh);
    /// on failure, the ones already linked go.
    func attachCgroupPrograms(to cgroup: CgroupDirectory, pod: InterceptorPod) throws(InterceptorError) -> [OpaquePointer] {
        var links: [OpaquePointer] = []
        func undo() { links.forEach(releaseLink) }
        for name in Self.cgroupPrograms {
            guard let program = program(name) else {
                undo()
                throw InterceptorError("the eBPF object has no program \(name)")
            }
            guard let link = bpf_program__attach_cgroup(program, cgroup.descriptor) else {
                let code = errno
                undo()
                throw .system("pod \(pod.name): cannot attach \(name) to cgroup \(cgroup.path)", errno: code)
            }
            links.append(link)
            let status = bpf_link__pin(link, pins.pin("link-\(pod.addressText)-\(name)"))
            if status != 0 {
                undo()
                throw .system("pod \(pod.name): cannot pin the link of \(name)", errno: status)
            }
        }
        return links
    }

    /// Unpins and destroys a link: its program leaves the cgroup.
    func releaseLink(_ link: OpaquePointer) {
        _ = bpf_link__unpin(link)
        bpf_link__destroy(link)
    }
}
