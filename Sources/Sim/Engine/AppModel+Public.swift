import MeshModel
import MeshProxy

/// One pod's app model, for runners outside the simulator (the real mode serves it over real
/// sockets). The same `AppBehavior` and `AppState` the simulator uses, so both answer alike.
public struct AppModelInstance: Sendable {
    var behavior: AppBehavior
    var state: AppState

    /// `deployment` is the Deployment's (or bare Pod's) name, `podName` seeds the pod's random stream
    /// exactly as the simulator does (`namespace/pod`).
    public init(deployment: String, template: PodSpec, spec: AppSpec?, seed: UInt64, podName: String) {
        behavior = AppBehavior(deployment: deployment, template: template, spec: spec)
        state = AppState(random: SimRandom(seed: seed, stream: "app:\(podName)"))
    }

    public var model: AppSpec.Model { behavior.model }
    /// Whether anything listens (a `none` model refuses connections).
    public var listens: Bool { behavior.listens }
    /// The `Identity` response header.
    public var identity: String { behavior.identity }
    /// The response body of the echo, pipy-ok and tcp-echo models (nil for the others).
    public var body: String? { behavior.body }
    /// Whether the HTTP answer is `body`.
    public var answersBody: Bool { behavior.answersBody }
    /// The headers the model adds to every answer (grpc-echo's `content-type` and `grpc-status`).
    public var responseHeaders: [(name: String, value: String)] { behavior.extraResponseHeaders.map { ($0.name, $0.value) } }
    /// The body as reports count it (trimmed), nil when the model has no known body.
    public var reportedBody: String? { behavior.reportedBody }
    /// bookbuyer/bookthief client loops the simulator runs in this pod (0: none).
    public var clientLoops: Int { behavior.clientLoops }
    /// bookstore: the namespace restock requests go to.
    public var warehouseNamespace: String { behavior.warehouseNamespace }
    public var received: Int { state.received }
    /// Model counters as the report shows them.
    public var counters: [AppCounter] { state.counters(model: behavior.model).map { AppCounter(name: $0.0, value: $0.1) } }

    /// What the app answers to one request.
    public struct Reply: Hashable, Sendable {
        public var status: Int
        /// Service time before the answer, nanoseconds.
        public var delayNanoseconds: Int64
        /// bookstore: send the restock POST to bookwarehouse.
        public var restock: Bool
        /// False when an injected error replaced the normal answer (no app body then).
        public var normalBody: Bool
    }

    /// Handles one HTTP request that reached the container (counts it).
    public mutating func handle(method: String, path: String, port: Int) -> Reply {
        let reply = state.handle(behavior, method: method, path: path, port: port)
        return Reply(status: reply.status, delayNanoseconds: reply.delay, restock: reply.restock, normalBody: reply.normalBody)
    }

    /// Whether a raw TCP call to `port` gets its bytes echoed (fortio's tcp port, the echo model).
    public func echoesTCP(port: Int) -> Bool { behavior.echoesTCP(port: port) }

    /// A raw TCP call reached the container (counted as the simulator counts it).
    public mutating func receivedTCPCall() { state.received += 1 }

    /// Whether a datagram to `port` is echoed (udp-echo, fortio's 8078).
    public func echoesUDP(port: Int) -> Bool { behavior.echoesUDP(port: port) }

    /// A datagram reached the container (counted as the simulator counts it).
    public mutating func receivedDatagram() { state.received += 1 }

    /// An `error` fault: answer `status` for a fraction `rate` of requests (rate 0 ends it).
    public mutating func setErrorFault(status: Int, rate: Double) {
        state.faultErrorStatus = status
        state.faultErrorRate = rate
    }

    /// The body text reports count for a body (trimmed, at most 80 characters).
    public static func reportText(_ body: String) -> String { AppBehavior.reportText(body) }
}
