/// One of a pod's health probes as its sidecar serves it once the injector rewrote it (the guide's
/// "Application Health Probes", fsm-guides.txt 5): the kubelet asks the sidecar on 15901-15903 (or
/// 15904 for a `tcpSocket` probe) and the sidecar asks the app's original endpoint.
///
/// The injector hands each probe to the sidecar as `fsm sidecar --probe <argument>`, where the
/// argument is `<kind>=<scheme>:<port>:<timeout seconds>[:<path>]`: `liveness=http:14001:1:/liveness`,
/// `readiness=https:8443:1`, `startup=tcp:14001:1`.
public struct SidecarProbe: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: String, Hashable, Sendable, CaseIterable {
        case liveness, readiness, startup

        /// The port the rewritten probe asks (15901, 15902, 15903).
        public var port: Int {
            switch self {
            case .liveness: 15901
            case .readiness: 15902
            case .startup: 15903
            }
        }

        /// The path a rewritten HTTP probe asks (`/fsm-liveness-probe`, ...).
        public var path: String { "/fsm-\(rawValue)-probe" }

        /// The pod spec's field (`livenessProbe`, ...).
        public var fieldName: String { "\(rawValue)Probe" }
    }

    /// What the original probe asked.
    public enum Target: Hashable, Sendable {
        /// `httpGet` with scheme HTTP: the sidecar sends `GET path` to the port and answers with its status.
        case http(port: Int, path: String)
        /// `httpGet` with scheme HTTPS: the sidecar relays the kubelet's TLS connection to the port.
        case https(port: Int)
        /// `tcpSocket`: rewritten to `GET /fsm-healthcheck` on 15904 with `Original-Tcp-Port`; the
        /// sidecar answers whether the port accepts a connection.
        case tcp(port: Int)

        public var port: Int {
            switch self {
            case .http(let port, _), .https(let port), .tcp(let port): port
            }
        }
    }

    /// `tcpSocket` probes become `GET /fsm-healthcheck` on this port.
    public static let healthcheckPort = 15904
    public static let healthcheckPath = "/fsm-healthcheck"
    /// The header naming the port a rewritten `tcpSocket` probe checks.
    public static let originalTCPPortHeader = "Original-Tcp-Port"
    /// The kubelet's default `timeoutSeconds`.
    public static let defaultTimeoutSeconds = 1

    public var kind: Kind
    public var target: Target
    /// The probe's `timeoutSeconds`: how long the sidecar waits for the app.
    public var timeoutSeconds: Int

    public init(kind: Kind, target: Target, timeoutSeconds: Int = SidecarProbe.defaultTimeoutSeconds) {
        self.kind = kind
        self.target = target
        self.timeoutSeconds = timeoutSeconds
    }

    /// The port the kubelet now asks for this probe.
    public var servedPort: Int {
        if case .tcp = target { return Self.healthcheckPort }
        return kind.port
    }

    /// The `fsm sidecar --probe` argument.
    public var argument: String {
        switch target {
        case .http(let port, let path): "\(kind.rawValue)=http:\(port):\(timeoutSeconds):\(path)"
        case .https(let port): "\(kind.rawValue)=https:\(port):\(timeoutSeconds)"
        case .tcp(let port): "\(kind.rawValue)=tcp:\(port):\(timeoutSeconds)"
        }
    }

    public var description: String { argument }

    /// Parses an `fsm sidecar --probe` argument; the error says what was expected.
    public init(argument: String) throws(SidecarProbeError) {
        let expected = "expected <liveness|readiness|startup>=<http|https|tcp>:<port>:<timeout seconds>[:<path>], e.g. liveness=http:14001:1:/liveness"
        guard let equals = argument.firstIndex(of: "="), let kind = Kind(rawValue: String(argument[..<equals])) else {
            throw SidecarProbeError(argument: argument, problem: expected)
        }
        let parts = argument[argument.index(after: equals)...].split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count >= 3, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw SidecarProbeError(argument: argument, problem: expected)
        }
        guard let timeout = Int(parts[2]), (1...3600).contains(timeout) else {
            throw SidecarProbeError(argument: argument, problem: "the timeout must be 1 to 3600 seconds")
        }
        switch (parts[0], parts.count) {
        case ("http", 4) where parts[3].hasPrefix("/"): self.init(kind: kind, target: .http(port: port, path: String(parts[3])), timeoutSeconds: timeout)
        case ("https", 3): self.init(kind: kind, target: .https(port: port), timeoutSeconds: timeout)
        case ("tcp", 3): self.init(kind: kind, target: .tcp(port: port), timeoutSeconds: timeout)
        default: throw SidecarProbeError(argument: argument, problem: expected + " (http needs a path starting with /; https and tcp take none)")
        }
    }
}

/// An `fsm sidecar --probe` argument that does not parse.
public struct SidecarProbeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var argument: String
    public var problem: String

    public var description: String { "--probe \(argument): \(problem)" }
}
