import MeshModel

/// An IPv4 (or opaque) address and a port, written `ip:port`.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }

    /// Parses `ip:port` (the last colon separates the port). nil when malformed.
    public init?(parsing text: String) {
        guard let colon = text.utf8.lastIndex(of: UInt8(ascii: ":")) else { return nil }
        let ip = text[..<colon]
        guard !ip.isEmpty, let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        self.init(ip: String(ip), port: port)
    }

    public var description: String { "\(ip):\(port)" }
}

public struct HTTPHeader: Hashable, Sendable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public struct HTTPRequestHead: Hashable, Sendable {
    public var method: String
    /// May include `?query`.
    public var path: String
    /// The Host header.
    public var authority: String
    public var headers: [HTTPHeader]

    public init(method: String = "GET", path: String = "/", authority: String, headers: [HTTPHeader] = []) {
        self.method = method
        self.path = path
        self.authority = authority
        self.headers = headers
    }

    /// The first value of the header `name`, compared case-insensitively; `host` answers the authority.
    public func header(_ name: String) -> String? {
        if let found = headers.first(where: { asciiCaseInsensitiveEquals($0.name, name) }) { return found.value }
        if asciiCaseInsensitiveEquals(name, "host") { return authority }
        return nil
    }
}

public struct HTTPResponseHead: Hashable, Sendable {
    /// 0 = no response: connection refused/reset/timeout at transport level.
    public var status: Int
    public var headers: [HTTPHeader]
    /// A short body for locally generated responses (the circuit breaker's degraded content).
    public var body: String?

    public init(status: Int, headers: [HTTPHeader] = [], body: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first(where: { asciiCaseInsensitiveEquals($0.name, name) })?.value
    }
}

/// One app request, numbered by the shell.
public struct ExchangeID: Hashable, Sendable {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

/// One downstream TCP connection, numbered by the shell.
public struct ConnectionID: Hashable, Sendable {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

/// One upstream connection, numbered by the engine.
public struct UpstreamConnectionID: Hashable, Sendable {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

/// Why the sidecar answered (or refused) by itself.
public enum LocalReason: String, Hashable, Sendable {
    case noRoute, accessDenied, rateLimited, pendingOverflow, requestOverflow, connectionOverflow, circuitOpen, perTryTimeout, requestTimeout, noEndpoints, upstreamFailure, configRejected
    /// A route's RequestRedirect filter answered (301/302 with `Location`).
    case redirect
    /// A fault-injection filter aborted the request.
    case faultAbort
    /// The gateway has no listener or certificate for the client's TLS server name.
    case noCertificate
}

public enum ProxyTimer: Hashable, Sendable {
    case retryBackoff(ExchangeID)
    case perTryTimeout(ExchangeID, attempt: Int)
    /// The exchange's route timeout: started with the exchange, cancelled when it ends.
    case requestTimeout(ExchangeID)
    /// A new upstream connection must be open by then (the shell reports `upstreamConnected`).
    case connectTimeout(UpstreamConnectionID)
    /// A filter of the exchange's chain held the request (a fault delay): decoding resumes.
    case filterResume(ExchangeID)
    /// A gateway cluster's HealthCheckPolicy round is due (`generation`: the config's; an older
    /// config's timer is ignored).
    case healthRound(cluster: String, generation: UInt64)
    /// A health probe that has not ended by now failed.
    case healthProbeTimeout(HealthProbeID)
}

/// One health probe of a gateway, numbered by the engine.
public struct HealthProbeID: Hashable, Sendable {
    public var rawValue: UInt64
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
}

/// What the shell does for a `healthProbe` action: a new connection to `endpoint` and, with a
/// `path`, an HTTP/1.1 `GET path` on it (`connection: close`); it reports how it ended with
/// `Sidecar.healthProbeEnded`. The engine decides the deadline (`healthProbeTimeout`); a report
/// after it is ignored.
public struct HealthProbe: Hashable, Sendable {
    public var id: HealthProbeID
    public var cluster: String
    public var endpoint: SocketAddress
    /// nil: the check is the TCP connect alone.
    public var path: String?
    public init(id: HealthProbeID, cluster: String, endpoint: SocketAddress, path: String?) {
        self.id = id
        self.cluster = cluster
        self.endpoint = endpoint
        self.path = path
    }
}

/// How a health probe ended, as the shell saw it.
public enum HealthProbeOutcome: Hashable, Sendable {
    /// The HTTP answer (its body as text).
    case answered(status: Int, headers: [HTTPHeader], body: String)
    /// The connection opened (a TCP check needs no more).
    case connected
    /// Refused, reset, or closed before an answer.
    case failed
}

public enum OutboundHTTPAction: Hashable, Sendable {
    /// Send attempt `attempt` (1-based) of the exchange to `endpoint`; `newConnection` means open
    /// `connection` first. `appProtocol` is the port's protocol from the exchange's traffic match:
    /// a gRPC port's connections speak HTTP/2.
    case send(ExchangeID, attempt: Int, cluster: String, endpoint: SocketAddress, connection: UpstreamConnectionID, newConnection: Bool, appProtocol: AppProtocol)
    case startTimer(ProxyTimer, after: MeshDuration)
    /// A timer started earlier no longer matters (firing it would change nothing); the shell may
    /// drop it so that it costs nothing while it waits.
    case cancelTimer(ProxyTimer)
    /// Final answer to the app for this exchange; `local` is nil when it is the upstream's response.
    /// `flags` say why, as Envoy's access log does (`UF`, `UO`, `URX`, ...; empty for a plain answer).
    case respond(ExchangeID, HTTPResponseHead, local: LocalReason?, flags: ResponseFlags)
    case closeUpstream(UpstreamConnectionID)
    /// Send the exchange's request with these headers, replacing any of the same names (tracing's
    /// B3 headers and `x-request-id`); comes before the exchange's first `send`.
    case setRequestHeaders(ExchangeID, [HTTPHeader])
    /// The gateway: send the exchange's request with this head (method, path, Host, headers) in
    /// place of the one the client sent (its route's URLRewrite and RequestHeaderModifier filters
    /// applied, `x-forwarded-for` added). Comes before the exchange's first `send`; a sidecar never
    /// emits it.
    case rewriteRequest(ExchangeID, HTTPRequestHead)
    /// The gateway's RequestMirror: send a copy of the exchange's request (this head, the same
    /// body) to `endpoint` of `cluster` on a connection of the shell's own, and ignore its answer
    /// and any failure of it. Comes before the exchange's first `send`; a sidecar never emits it.
    case mirror(ExchangeID, cluster: String, endpoint: SocketAddress, head: HTTPRequestHead)
    /// The gateway's HealthCheckPolicy: probe an endpoint (`HealthProbe`) and report how it ended.
    /// A sidecar never emits it.
    case healthProbe(HealthProbe)
}

public enum OutboundTCPDecision: Hashable, Sendable {
    case connect(cluster: String, endpoint: SocketAddress)
    case reject(LocalReason)
}

public enum InboundConnectionDecision: Hashable, Sendable {
    case accept
    case close(LocalReason)
}

public enum InboundHTTPDecision: Hashable, Sendable {
    /// Forward to the local app at `endpoint`, speaking the port's protocol (gRPC: HTTP/2).
    case forward(cluster: String, endpoint: SocketAddress, appProtocol: AppProtocol)
    case respond(HTTPResponseHead, LocalReason)
}

/// `rejected` keeps the last good config.
public enum ConfigApplyResult: Hashable, Sendable {
    case applied(version: String)
    case rejected(reason: String)
}

@inline(__always)
func asciiCaseInsensitiveEquals(_ a: String, _ b: String) -> Bool {
    var ia = a.utf8.makeIterator()
    var ib = b.utf8.makeIterator()
    while true {
        let ca = ia.next(), cb = ib.next()
        switch (ca, cb) {
        case (nil, nil): return true
        case let (x?, y?):
            if x == y { continue }
            let lx = (x >= 65 && x <= 90) ? x + 32 : x
            let ly = (y >= 65 && y <= 90) ? y + 32 : y
            if lx != ly { return false }
        default: return false
        }
    }
}
