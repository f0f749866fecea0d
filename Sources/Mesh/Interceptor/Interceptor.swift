import CLibBPF
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The node agent of eBPF capture (`fsm interceptor`, the guides' fsm-interceptor): loads the
/// capture programs once, pins them, their maps and each pod's cgroup links, and attaches them per
/// pod (its cgroup, its interfaces) with that pod's map entries. Capture outlives a killed
/// interceptor (everything is pinned or on the interfaces); the next one on the pin directory
/// removes the old pins and attaches afresh. `stop()` (on SIGTERM) detaches everything and removes
/// the pins and the lock. Not thread-safe: one thread drives it.
public final class Interceptor {
    public static let defaultPinDirectory = "/sys/fs/bpf/fsm"

    public struct Options: Sendable {
        public var pinDirectory: String
        /// The sk_msg + sockmap shortcut between same-host sockets.
        public var accelerate: Bool

        public init(pinDirectory: String = Interceptor.defaultPinDirectory, accelerate: Bool = true) {
            self.pinDirectory = pinDirectory
            self.accelerate = accelerate
        }
    }

    /// The programs attached to each pod's cgroup.
    static let cgroupPrograms = ["fsm_connect4", "fsm_sockops", "fsm_getsockopt"]
    static let messageProgram = "fsm_sk_msg"
    static let ingressProgram = "fsm_tc_ingress"
    static let egressProgram = "fsm_tc_egress"

    let options: Options
    let logger: Logger
    let object: OpaquePointer
    let pins: PinDirectory
    private var pods: [UInt32: AttachedPod] = [:]
    private var messageVerdictAttached = false
    private var stopped = false

    /// Loads `objectBytes` (the embedded `InterceptorObject` unless a test gives another), pins
    /// its programs and maps under `options.pinDirectory`, and sets the global flags.
    public init(objectBytes: [UInt8], options: Options, logger: Logger) throws(InterceptorError) {
        self.options = options
        self.logger = logger
        pins = try PinDirectory.claim(options.pinDirectory, logger: logger)
        do throws(InterceptorError) {
            object = try Self.load(objectBytes)
        } catch {
            pins.release()
            throw error
        }
        do throws(InterceptorError) {
            try pinObjects()
            try write([CaptureMapEntry.settings(accelerate: options.accelerate)])
            if options.accelerate { try attachMessageVerdict() }
        } catch {
            stop()
            throw error
        }
    }

    deinit { stop() }

    /// The pods attached now, by address.
    public var attachedPods: [InterceptorPod] { pods.values.map(\.pod).sorted { $0.address < $1.address } }

    /// Captures `pod`: its map entries, its cgroup's programs, and (with a network namespace) the
    /// tc programs on its interfaces. Refused when another interceptor already captures its cgroup.
    public func attach(_ pod: InterceptorPod) throws(InterceptorError) {
        guard pods[pod.address] == nil else { throw InterceptorError("pod \(pod.name): \(pod.addressText) is captured already") }
        let cgroup = try CgroupDirectory(pod.cgroupPath)
        defer { cgroup.close() }
        let sidecarCgroupID = try pod.sidecarCgroupPath.map { path throws(InterceptorError) in try Self.sidecarCgroupID(path, in: pod) } ?? 0
        try refuseOtherInterceptors(on: cgroup, pod: pod)
        var attached = AttachedPod(pod: pod, cgroupID: cgroup.id)
        do throws(InterceptorError) {
            try write(pod.mapEntries(cgroupID: cgroup.id, sidecarCgroupID: sidecarCgroupID))
            attached.links = try attachCgroupPrograms(to: cgroup, pod: pod)
            if let netns = pod.networkNamespacePath {
                attached.trafficControl = try attachTrafficControl(inNetworkNamespace: netns, pod: pod)
            }
        } catch {
            release(attached)
            throw error
        }
        pods[pod.address] = attached
    }

    /// Stops capturing the pod at `address` (a no-op for a pod not attached).
    public func detach(address: UInt32) {
        guard let attached = pods.removeValue(forKey: address) else { return }
        release(attached)
    }

    /// Detaches every pod, unpins, unloads, and gives up the pin directory. Idempotent.
    public func stop() {
        guard !stopped else { return }
        stopped = true
        for address in Array(pods.keys) { detach(address: address) }
        if messageVerdictAttached, let program = program(Self.messageProgram), let sockets = map(.sockets) {
            bpf_prog_detach2(bpf_program__fd(program), bpf_map__fd(sockets), BPF_SK_MSG_VERDICT)
        }
        pins.release()
        bpf_object__close(object)
    }

    /// The programs' counters, summed over CPUs.
    public func statistics() -> InterceptorStatistics {
        guard let map = map(.statistics) else { return InterceptorStatistics() }
        let cpus = max(1, Int(libbpf_num_possible_cpus()))
        var values: [InterceptorStatistics.Counter: UInt64] = [:]
        for counter in InterceptorStatistics.Counter.allCases {
            var key = UInt32(counter.rawValue)
            var perCPU = [UInt64](repeating: 0, count: cpus)
            let status = perCPU.withUnsafeMutableBytes { bpf_map__lookup_elem(map, &key, 4, $0.baseAddress, $0.count, 0) }
            if status == 0 { values[counter] = perCPU.reduce(0, &+) }
        }
        return InterceptorStatistics(values: values)
    }

    // MARK: - Parts

    func program(_ name: String) -> OpaquePointer? { bpf_object__find_program_by_name(object, name) }

    func map(_ map: CaptureMap) -> OpaquePointer? { bpf_object__find_map_by_name(object, map.rawValue) }

    /// Writes entries (any existing entry for a key is replaced).
    func write(_ entries: [CaptureMapEntry]) throws(InterceptorError) {
        for entry in entries {
            guard let map = map(entry.map) else { throw InterceptorError("the eBPF object has no map \(entry.map.rawValue)") }
            let status = entry.key.withUnsafeBytes { key in
                entry.value.withUnsafeBytes { value in
                    bpf_map__update_elem(map, key.baseAddress, key.count, value.baseAddress, value.count, UInt64(BPF_ANY))
                }
            }
            if status != 0 { throw .system("cannot write \(entry.map.rawValue)", errno: status) }
        }
    }

    private func delete(_ entries: [CaptureMapEntry]) {
        for entry in entries {
            guard let map = map(entry.map) else { continue }
            _ = entry.key.withUnsafeBytes { bpf_map__delete_elem(map, $0.baseAddress, $0.count, 0) }
        }
    }

    private func release(_ attached: AttachedPod) {
        attached.links.forEach(releaseLink)
        if let netns = attached.pod.networkNamespacePath, !attached.trafficControl.isEmpty {
            detachTrafficControl(attached.trafficControl, inNetworkNamespace: netns)
        }
        delete(attached.pod.mapKeys(cgroupID: attached.cgroupID))
    }

    private func attachMessageVerdict() throws(InterceptorError) {
        guard let program = program(Self.messageProgram), let sockets = map(.sockets) else {
            throw InterceptorError("the eBPF object has no \(Self.messageProgram) program or \(CaptureMap.sockets.rawValue) map")
        }
        let status = bpf_prog_attach(bpf_program__fd(program), bpf_map__fd(sockets), BPF_SK_MSG_VERDICT, 0)
        if status != 0 { throw .system("cannot attach \(Self.messageProgram) to \(CaptureMap.sockets.rawValue)", errno: status) }
        messageVerdictAttached = true
    }

    private func pinObjects() throws(InterceptorError) {
        var map = bpf_object__next_map(object, nil)
        while let current = map {
            let name = String(cString: bpf_map__name(current))
            let status = bpf_map__pin(current, pins.pin(name))
            if status != 0 { throw .system("cannot pin map \(name) at \(pins.pin(name))", errno: status) }
            map = bpf_object__next_map(object, current)
        }
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let name = String(cString: bpf_program__name(current))
            let status = bpf_program__pin(current, pins.pin(name))
            if status != 0 { throw .system("cannot pin program \(name) at \(pins.pin(name))", errno: status) }
            program = bpf_object__next_program(object, current)
        }
    }

    private static func sidecarCgroupID(_ path: String, in pod: InterceptorPod) throws(InterceptorError) -> UInt64 {
        guard path.hasPrefix(pod.cgroupPath + "/") else {
            throw InterceptorError("pod \(pod.name): the sidecar cgroup \(path) is not inside the pod's cgroup \(pod.cgroupPath)")
        }
        let cgroup = try CgroupDirectory(path)
        defer { cgroup.close() }
        return cgroup.id
    }
}

/// What was attached for one pod, to undo it.
struct AttachedPod {
    var pod: InterceptorPod
    var cgroupID: UInt64
    var links: [OpaquePointer] = []
    var trafficControl: [TrafficControlHook] = []
}
