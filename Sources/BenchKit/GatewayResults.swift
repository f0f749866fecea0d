/// The paths of the gateway benchmark (`bench gateway`): the upstream directly, and through each
/// edge proxy (one process, one worker) in plain HTTP/1.1 and terminating TLS.
public enum GatewayMode: String, BenchMode {
    case baseline
    case ours = "fsm-gateway"
    case nginx
    case envoy
    case oursTLS = "fsm-gateway-tls"
    case nginxTLS = "nginx-tls"
    case envoyTLS = "envoy-tls"

    public var title: String {
        switch self {
        case .baseline: "baseline (client → upstream)"
        case .ours: "fsm gateway"
        case .nginx: "NGINX"
        case .envoy: "Envoy"
        case .oursTLS: "fsm gateway, TLS terminated"
        case .nginxTLS: "NGINX, TLS terminated"
        case .envoyTLS: "Envoy, TLS terminated"
        }
    }

    /// The client speaks TLS to the proxy (which speaks plain HTTP to the upstream).
    public var terminatesTLS: Bool { [.oursTLS, .nginxTLS, .envoyTLS].contains(self) }

    /// The proxy processes: each serves a plain and a TLS listener (its two modes).
    public static let proxies: [(name: String, modes: [GatewayMode])] = [("fsm gateway", [.ours, .oursTLS]), ("NGINX", [.nginx, .nginxTLS]), ("Envoy", [.envoy, .envoyTLS])]
}

public typealias GatewayLatencyRun = ModeLatencyRun<GatewayMode>
public typealias GatewayThroughputRun = ModeThroughputRun<GatewayMode>

/// Everything one `bench gateway` invocation measured, with where and how.
public struct GatewayResults: Sendable, Codable {
    public var date: String
    public var machine: String
    public var command: String
    public var notes: [String]
    /// Open loop, plain HTTP/1.1.
    public var latency: [GatewayLatencyRun]
    /// Closed loop, plain and TLS-terminating.
    public var throughput: [GatewayThroughputRun]

    public init(date: String, machine: String, command: String, notes: [String] = [], latency: [GatewayLatencyRun] = [], throughput: [GatewayThroughputRun] = []) {
        self.date = date
        self.machine = machine
        self.command = command
        self.notes = notes
        self.latency = latency
        self.throughput = throughput
    }

    /// The closed-loop run of a mode by our own generator.
    public func closedLoop(_ mode: GatewayMode) -> GatewayThroughputRun? {
        throughput.first { $0.mode == mode && $0.tool == "bench" }
    }

    /// The largest VmHWM the proxy serving `modes` reached in any of their runs (open or closed loop).
    public func peakRSSKiB(_ modes: [GatewayMode]) -> Int? {
        modes.flatMap { mode in [latency.peakRSSKiB(mode, side: "client")] + throughput.filter { $0.mode == mode }.map(\.peakRSSKiB) }.compactMap { $0 }.max()
    }
}
