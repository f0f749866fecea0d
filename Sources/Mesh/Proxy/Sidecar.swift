import MeshModel

public struct SidecarStats: Sendable {
    var named: [String: UInt64] = [:]
    public init() {}
    public func counters() -> [(name: String, value: UInt64)] { named.sorted { $0.key < $1.key }.map { (name: $0.key, value: $0.value) } }
    public func value(_ name: String) -> UInt64 { named[name] ?? 0 }
}

public struct Sidecar: Sendable {
    public private(set) var config: ProxyConfig?
    public private(set) var stats = SidecarStats()

    public init() {}
    public init(config: ProxyConfig) { _ = apply(config) }

    public mutating func apply(_ config: ProxyConfig) -> ConfigApplyResult {
        self.config = config
        stats.named["config_applied", default: 0] += 1
        return .applied(version: config.version)
    }

    public mutating func outboundRequest(_ id: ExchangeID, head: HTTPRequestHead, destination: SocketAddress, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] {
        [.respond(id, HTTPResponseHead(status: 0), local: .noRoute)]
    }
    public mutating func upstreamResponse(_ id: ExchangeID, attempt: Int, head: HTTPResponseHead, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] { [] }
    public mutating func timerFired(_ timer: ProxyTimer, now: MeshInstant, random: inout some RandomNumberGenerator) -> [OutboundHTTPAction] { [] }
    public mutating func cancelOutbound(_ id: ExchangeID) -> [OutboundHTTPAction] { [] }
    public mutating func upstreamConnectionLost(_ connection: UpstreamConnectionID) -> [OutboundHTTPAction] { [] }
    public mutating func outboundConnection(_ id: ConnectionID, destination: SocketAddress, now: MeshInstant, random: inout some RandomNumberGenerator) -> OutboundTCPDecision { .reject(.noRoute) }
    public mutating func outboundConnectionClosed(_ id: ConnectionID) {}
    public mutating func inboundConnection(_ id: ConnectionID, port: Int, source: SocketAddress, peerIdentity: String?, now: MeshInstant) -> InboundConnectionDecision { .close(.noRoute) }
    public mutating func inboundConnectionClosed(_ id: ConnectionID) {}
    public mutating func inboundRequest(_ head: HTTPRequestHead, connection: ConnectionID, port: Int, peerIdentity: String?, now: MeshInstant) -> InboundHTTPDecision { .respond(HTTPResponseHead(status: 403), .accessDenied) }
    public mutating func inboundResponse(port: Int, status: Int, latency: MeshDuration) {}
}
