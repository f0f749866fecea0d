import MeshModel

/// What the sidecar does with the kubelet's rewritten health probes (fsm-guides.txt 5): which
/// probe ports it listens on, what a request to one of them asks of the app, and how the app's
/// answer (or silence) becomes the probe's answer. Pure: the shell opens the listeners, carries
/// out the actions on real sockets and enforces the deadline given with each action.
///
/// - 15901/15902/15903 for an HTTP probe: `GET /fsm-<kind>-probe` is sent on as `GET <path>` to
///   the app's port and answered with the app's status and body; the app refusing or not answering
///   in the probe's `timeoutSeconds` gives 503. Other paths get 404, other methods 405.
/// - the same ports for an HTTPS probe: the connection is relayed to the app's port as it is (the
///   kubelet's TLS session ends at the app).
/// - 15904 (any `tcpSocket` probe): `GET /fsm-healthcheck` with `Original-Tcp-Port: N` opens a
///   connection to port N: 200 when it is accepted, 503 when not (refused or no answer in time).
///   Only the ports of the pod's own `tcpSocket` probes may be asked (403 otherwise), so the port
///   cannot be used to scan the pod's loopback; a missing or malformed header gets 400.
public struct ProbeResponder: Hashable, Sendable {
    /// How a probe port is served.
    public enum Listener: Hashable, Sendable {
        /// HTTP requests answered through `request(port:method:path:originalTCPPort:)`.
        case http(port: Int)
        /// Connections relayed as they are to the app's port (HTTPS probes).
        case relay(port: Int, to: Int, connectTimeout: MeshDuration)

        public var port: Int {
            switch self {
            case .http(let port), .relay(let port, _, _): port
            }
        }
    }

    /// What the shell does for one probe request.
    public enum Action: Hashable, Sendable {
        /// `GET path` to the app's port; then `forwarded(_:)`.
        case forward(port: Int, path: String, timeout: MeshDuration)
        /// Open (and close) a connection to the port; then `connected(_:port:)`.
        case connect(port: Int, timeout: MeshDuration)
        /// Answer now.
        case respond(Answer)
    }

    public struct Answer: Hashable, Sendable {
        public var status: Int
        public var contentType: String
        public var body: String

        public init(status: Int, contentType: String = "text/plain", body: String) {
            self.status = status
            self.contentType = contentType
            self.body = body
        }
    }

    /// How a forwarded probe ended.
    public enum ForwardOutcome: Hashable, Sendable {
        case answered(status: Int, contentType: String?, body: String)
        case connectFailed(String)
        case timedOut
    }

    /// At most this much of the app's body is passed back (the kubelet reads 10 KiB of it).
    public static let maxBody = 10 * 1024

    public let probes: [SidecarProbe]

    /// The probes the injector rewrote. Each of 15901-15903 serves the first HTTP(S) probe of its
    /// kind; every `tcpSocket` probe's port may be checked on 15904.
    public init(probes: [SidecarProbe]) {
        self.probes = probes
    }

    /// The first HTTP or HTTPS probe of each kind.
    private var servedProbes: [SidecarProbe] {
        var seen = Set<SidecarProbe.Kind>()
        return probes.filter { probe in
            if case .tcp = probe.target { return false }
            return seen.insert(probe.kind).inserted
        }
    }

    /// The ports to listen on, in port order: one per HTTP(S) probe, and 15904 when a probe is a
    /// `tcpSocket` one.
    public var listeners: [Listener] {
        var result: [Listener] = []
        for probe in servedProbes {
            switch probe.target {
            case .http: result.append(.http(port: probe.kind.port))
            case .https(let port): result.append(.relay(port: probe.kind.port, to: port, connectTimeout: .seconds(Int64(probe.timeoutSeconds))))
            case .tcp: break
            }
        }
        if probes.contains(where: { if case .tcp = $0.target { true } else { false } }) {
            result.append(.http(port: SidecarProbe.healthcheckPort))
        }
        return result.sorted { $0.port < $1.port }
    }

    /// The action for a request on a probe port. `originalTCPPort` holds the values of the
    /// `Original-Tcp-Port` header, if any.
    public func request(port: Int, method: String, path: String, originalTCPPort: [String]) -> Action {
        guard method == "GET" || method == "HEAD" else { return .respond(Answer(status: 405, body: "probe endpoints answer GET only\n")) }
        if port == SidecarProbe.healthcheckPort { return healthcheck(path: path, originalTCPPort: originalTCPPort) }
        guard let probe = servedProbes.first(where: { $0.kind.port == port }), case .http(let appPort, let appPath) = probe.target else {
            return .respond(Answer(status: 404, body: "no HTTP probe is served on port \(port)\n"))
        }
        guard Self.pathOnly(path) == probe.kind.path else {
            return .respond(Answer(status: 404, body: "the \(probe.kind.rawValue) probe is \(probe.kind.path)\n"))
        }
        return .forward(port: appPort, path: appPath, timeout: .seconds(Int64(probe.timeoutSeconds)))
    }

    /// The probe's answer once the app answered (its status and body), or did not.
    public func forwarded(_ outcome: ForwardOutcome, port: Int) -> Answer {
        switch outcome {
        case .answered(let status, let contentType, let body):
            return Answer(status: status, contentType: contentType ?? "text/plain", body: String(decoding: body.utf8.prefix(Self.maxBody), as: UTF8.self))
        case .connectFailed(let why):
            return Answer(status: 503, body: "the app's probe port \(port) did not accept the connection: \(why)\n")
        case .timedOut:
            return Answer(status: 503, body: "the app's probe on port \(port) did not answer in time\n")
        }
    }

    /// The answer of a `tcpSocket` check: whether the port accepted a connection in time.
    public func connected(_ accepted: Bool, port: Int) -> Answer {
        accepted
            ? Answer(status: 200, body: "port \(port) accepts connections\n")
            : Answer(status: 503, body: "port \(port) does not accept connections\n")
    }

    private func healthcheck(path: String, originalTCPPort: [String]) -> Action {
        guard Self.pathOnly(path) == SidecarProbe.healthcheckPath else {
            return .respond(Answer(status: 404, body: "the healthcheck is \(SidecarProbe.healthcheckPath)\n"))
        }
        guard originalTCPPort.count == 1, let port = Int(originalTCPPort[0].trimmingASCIISpaces()), (1...65535).contains(port) else {
            return .respond(Answer(status: 400, body: "expected one \(SidecarProbe.originalTCPPortHeader) header naming a port\n"))
        }
        guard let probe = probes.first(where: { $0.target == .tcp(port: port) }) else {
            return .respond(Answer(status: 403, body: "port \(port) is not the port of one of this pod's tcpSocket probes\n"))
        }
        return .connect(port: port, timeout: .seconds(Int64(probe.timeoutSeconds)))
    }

    /// The path without its query.
    private static func pathOnly(_ target: String) -> Substring {
        target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? Substring(target)
    }
}

extension String {
    fileprivate func trimmingASCIISpaces() -> Substring {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
