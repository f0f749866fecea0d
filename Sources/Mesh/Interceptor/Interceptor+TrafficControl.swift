import CLibBPF
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// One interface of a pod's network namespace with the tc programs on it.
struct TrafficControlHook {
    var interfaceIndex: Int32
    var interfaceName: String
    /// The clsact qdisc was ours to create (and so to remove).
    var createdQdisc: Bool
}

extension Interceptor {
    /// Our tc filters' handle and priority on each interface.
    static let filterHandle: UInt32 = 0xf5e
    static let filterPriority: UInt32 = 1

    /// The tc programs on every Ethernet interface of the pod's network namespace: inbound
    /// connections from anywhere reach the inbound listener (the guides' cross-node path).
    func attachTrafficControl(inNetworkNamespace path: String, pod: InterceptorPod) throws(InterceptorError) -> [TrafficControlHook] {
        guard let ingress = program(Self.ingressProgram), let egress = program(Self.egressProgram) else {
            throw InterceptorError("the eBPF object has no \(Self.ingressProgram) or \(Self.egressProgram) program")
        }
        return try NetworkNamespaceEntry.run(in: path) { () throws(InterceptorError) -> [TrafficControlHook] in
            let interfaces = NetworkNamespaceEntry.ethernetInterfaces()
            guard !interfaces.isEmpty else {
                throw InterceptorError("pod \(pod.name): network namespace \(path) has no Ethernet interface to capture inbound connections on")
            }
            var hooks: [TrafficControlHook] = []
            for (index, name) in interfaces {
                do throws(InterceptorError) {
                    hooks.append(try attachFilters(interface: index, name: name, ingress: ingress, egress: egress, pod: pod))
                } catch {
                    removeFilters(hooks)
                    throw error
                }
            }
            return hooks
        }
    }

    func detachTrafficControl(_ hooks: [TrafficControlHook], inNetworkNamespace path: String) {
        do {
            try NetworkNamespaceEntry.run(in: path) { () throws(InterceptorError) in removeFilters(hooks) }
        } catch {
            // The pod's namespace is gone, and its interfaces with it.
            logger.debug("pod network namespace gone before its tc filters were removed", metadata: ["netns": "\(path)", "error": "\(error)"])
        }
    }

    private func attachFilters(interface index: Int32, name: String, ingress: OpaquePointer, egress: OpaquePointer, pod: InterceptorPod) throws(InterceptorError) -> TrafficControlHook {
        var both = fsm_tc_hook(index, bpf_tc_attach_point(rawValue: BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue))
        let created = bpf_tc_hook_create(&both)
        guard created == 0 || created == -EEXIST else { throw .system("pod \(pod.name): cannot add a clsact qdisc to \(name)", errno: created) }
        let hook = TrafficControlHook(interfaceIndex: index, interfaceName: name, createdQdisc: created == 0)
        for (point, program) in [(BPF_TC_INGRESS, ingress), (BPF_TC_EGRESS, egress)] {
            var target = fsm_tc_hook(index, point)
            var options = fsm_tc_opts(bpf_program__fd(program), Self.filterHandle, Self.filterPriority, 0)
            var status = bpf_tc_attach(&target, &options)
            if status == -EEXIST {
                // Left by an interceptor that was killed (no live one: its cgroup links were checked).
                logger.notice("replacing a tc filter left on an interface", metadata: ["interface": "\(name)", "pod": "\(pod.name)"])
                options = fsm_tc_opts(bpf_program__fd(program), Self.filterHandle, Self.filterPriority, UInt32(BPF_TC_F_REPLACE.rawValue))
                status = bpf_tc_attach(&target, &options)
            }
            if status != 0 {
                removeFilters([hook])
                throw .system("pod \(pod.name): cannot attach \(String(cString: bpf_program__name(program))) to \(name)", errno: status)
            }
        }
        return hook
    }

    /// Removes our filters (and the qdisc when we added it); in the namespace already.
    private func removeFilters(_ hooks: [TrafficControlHook]) {
        for hook in hooks {
            for point in [BPF_TC_INGRESS, BPF_TC_EGRESS] {
                var target = fsm_tc_hook(hook.interfaceIndex, point)
                var options = fsm_tc_opts(0, Self.filterHandle, Self.filterPriority, 0)
                _ = bpf_tc_detach(&target, &options)
            }
            if hook.createdQdisc {
                var both = fsm_tc_hook(hook.interfaceIndex, bpf_tc_attach_point(rawValue: BPF_TC_INGRESS.rawValue | BPF_TC_EGRESS.rawValue))
                _ = bpf_tc_hook_destroy(&both)
            }
        }
    }
}

/// Work done inside a pod's network namespace by the calling thread alone (setns moves one thread).
enum NetworkNamespaceEntry {
    static func run<T>(in path: String, _ body: () throws(InterceptorError) -> T) throws(InterceptorError) -> T {
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { throw .system("cannot open this thread's network namespace", errno: errno) }
        defer { close(home) }
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else { throw .system("cannot open network namespace \(path)", errno: errno) }
        defer { close(target) }
        guard fsm_enter_network_namespace(target) == 0 else {
            let code = errno
            throw code == EINVAL ? InterceptorError("\(path) is not a network namespace") : .system("cannot enter network namespace \(path)", errno: code)
        }
        defer {
            // Staying in the pod's namespace would make every later socket of this thread the pod's.
            precondition(fsm_enter_network_namespace(home) == 0, "cannot return to the interceptor's own network namespace")
        }
        return try body()
    }

    static let hardwareTypeEthernet: UInt16 = 1

    /// The current namespace's Ethernet interfaces (veth included), by index and name.
    static func ethernetInterfaces() -> [(Int32, String)] {
        guard let list = if_nameindex() else { return [] }
        defer { if_freenameindex(list) }
        let probe = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        defer { if probe >= 0 { close(probe) } }
        var interfaces: [(Int32, String)] = []
        var entry = list
        while entry.pointee.if_index != 0, let cName = entry.pointee.if_name {
            let name = String(cString: cName)
            if name != "lo", hardwareType(of: cName, probe: probe) == hardwareTypeEthernet {
                interfaces.append((Int32(entry.pointee.if_index), name))
            }
            entry += 1
        }
        return interfaces
    }

    private static func hardwareType(of name: UnsafePointer<CChar>, probe: Int32) -> UInt16? {
        var request = ifreq()
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { buffer in
            let length = min(strlen(name), buffer.count - 1)
            buffer.copyMemory(from: UnsafeRawBufferPointer(start: name, count: length))
        }
        guard ioctl(probe, UInt(SIOCGIFHWADDR), &request) == 0 else { return nil }
        return request.ifr_ifru.ifru_hwaddr.sa_family
    }
}
