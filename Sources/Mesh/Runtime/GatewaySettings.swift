import NIOCore

/// Where a gateway listens and the bounds its listeners keep (`fsm gateway` options).
public struct GatewaySettings: Sendable {
    /// The address every config listener binds (0.0.0.0 in a pod; a 127.x address on one machine).
    public var bindAddress: String
    /// The admin port (`/healthz`, `/ready`, `/metrics`, `/config`) and the address it binds.
    public var adminAddress: String
    public var adminPort: Int
    /// Connections each listener socket holds at once (UDP: client sessions); more are closed at
    /// once and counted (`downstream_cx_overflow`).
    public var connectionLimit: Int
    /// As the sidecar's listeners (`SidecarSettings`): a request head must arrive within
    /// `requestHeaderTimeout` of its first byte (else 408, slowloris), an idle connection closes
    /// after `idleTimeout`, a TLS handshake must end within `tlsHandshakeTimeout` of the accept
    /// (a passthrough connection must send its whole ClientHello within it).
    public var requestHeaderTimeout: TimeAmount
    public var idleTimeout: TimeAmount
    public var tlsHandshakeTimeout: TimeAmount
    /// A UDP client's session (its socket towards the backend) closes after this long without a
    /// datagram either way.
    public var udpIdleTimeout: TimeAmount
    /// A relayed (TCP, passthrough) connection whose backend does not accept within this time fails.
    public var relayConnectTimeout: TimeAmount
    /// Where the HTTP listeners' access-log lines go (one JSON line per request, as a sidecar's);
    /// nil: no access log.
    public var accessLog: AccessLogSink?
    /// Local mode (no capture on this machine): the meshed pods' addresses, whose inbound
    /// listeners take the gateway's plain HTTP to them (`SidecarSettings.meshedPodIPs`).
    public var meshedPodIPs: Set<String> = []
    /// DNS outside the cluster on one machine: external hosts' names → addresses, for backends
    /// named by host (a TLSRoute to `httpbin.org`), as `SidecarSettings.hosts`.
    public var hosts: [String: String] = [:]

    public init(bindAddress: String = "0.0.0.0", adminAddress: String = "127.0.0.1", adminPort: Int = 15000,
                connectionLimit: Int = GatewaySettings.defaultConnectionLimit(), requestHeaderTimeout: TimeAmount = .seconds(10),
                idleTimeout: TimeAmount = .seconds(300), tlsHandshakeTimeout: TimeAmount = .seconds(10), udpIdleTimeout: TimeAmount = .seconds(60),
                relayConnectTimeout: TimeAmount = .seconds(5)) {
        self.bindAddress = bindAddress
        self.adminAddress = adminAddress
        self.adminPort = adminPort
        self.connectionLimit = connectionLimit
        self.requestHeaderTimeout = requestHeaderTimeout
        self.idleTimeout = idleTimeout
        self.tlsHandshakeTimeout = tlsHandshakeTimeout
        self.udpIdleTimeout = udpIdleTimeout
        self.relayConnectTimeout = relayConnectTimeout
    }

    /// The sidecar's share of descriptors for one data-path listener (`ConnectionLimits.derived`).
    public static func defaultConnectionLimit() -> Int {
        ConnectionLimits.forThisProcess().outbound
    }

    /// The settings of the `SidecarDriver` that carries the HTTP listeners' requests to the engine.
    var sidecarSettings: SidecarSettings {
        var limits = ConnectionLimits.forThisProcess()
        limits.outbound = connectionLimit
        var settings = SidecarSettings(podIP: bindAddress, peerTransport: .insecurePlaintext, adminPort: adminPort, requestHeaderTimeout: requestHeaderTimeout,
                                       idleTimeout: idleTimeout, adminAddress: adminAddress, connectionLimits: limits, tlsHandshakeTimeout: tlsHandshakeTimeout)
        settings.accessLog = accessLog
        settings.meshedPodIPs = meshedPodIPs
        settings.hosts = hosts
        return settings
    }
}
