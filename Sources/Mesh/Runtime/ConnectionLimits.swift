#if canImport(Glibc)
import Glibc
#endif

/// The sidecar's listeners, each with its own connection limit and overflow counter.
public enum ListenerKind: Int, CaseIterable, Sendable, CustomStringConvertible {
    /// Apps' requests (15001).
    case outbound
    /// Peer sidecars' mTLS connections (15003).
    case inbound
    /// `/ready`, `/stats`, `/stats/prometheus`, `/config_dump` on loopback (15000).
    case admin
    /// `/stats/prometheus` only, on the pod address, for Prometheus (15010).
    case prometheus
    /// The kubelet's rewritten health probes (15901-15904), each port counted together.
    case probe

    public var description: String {
        switch self {
        case .outbound: "outbound"
        case .inbound: "inbound"
        case .admin: "admin"
        case .prometheus: "prometheus"
        case .probe: "probe"
        }
    }
}

/// How many downstream connections each listener holds at once (Envoy's listener
/// `connection_limit`). The defaults come from the process's descriptor limit (RLIMIT_NOFILE) so
/// that, with every listener full, descriptors remain for what the sidecar itself opens: a
/// connection upstream (or to the app) per data-path connection, the controller, certificate and
/// config requests, files, the event loop's own.
public struct ConnectionLimits: Sendable, Equatable {
    public var outbound: Int
    public var inbound: Int
    public var admin: Int
    public var prometheus: Int
    /// The probe ports together: the kubelet probes one at a time, so a few are plenty, and they
    /// come out of the descriptor reserve.
    public var probe: Int

    /// Connections the probe ports hold at once unless told otherwise.
    public static let defaultProbeLimit = 8

    public init(outbound: Int, inbound: Int, admin: Int, prometheus: Int, probe: Int = ConnectionLimits.defaultProbeLimit) {
        self.outbound = outbound
        self.inbound = inbound
        self.admin = admin
        self.prometheus = prometheus
        self.probe = probe
    }

    public subscript(listener: ListenerKind) -> Int {
        get {
            switch listener {
            case .outbound: outbound
            case .inbound: inbound
            case .admin: admin
            case .prometheus: prometheus
            case .probe: probe
            }
        }
        set {
            switch listener {
            case .outbound: outbound = newValue
            case .inbound: inbound = newValue
            case .admin: admin = newValue
            case .prometheus: prometheus = newValue
            case .probe: probe = newValue
            }
        }
    }

    /// Limits for `descriptors` file descriptors: an eighth (at least 32) stays in reserve; the
    /// admin and Prometheus listeners get a thirty-second each (2 to 64); the data-path listeners
    /// share the rest, counting two descriptors per connection (the downstream one and its
    /// upstream or app connection). At 1,024 descriptors: 208 / 208 / 32 / 32, 128 in reserve.
    public static func derived(descriptorLimit descriptors: Int) -> ConnectionLimits {
        let reserve = max(32, descriptors / 8)
        let control = min(64, max(2, descriptors / 32))
        let dataBudget = max(0, descriptors - reserve - 2 * control)
        let data = max(1, dataBudget / 4)
        return ConnectionLimits(outbound: data, inbound: data, admin: control, prometheus: control)
    }

    /// The soft RLIMIT_NOFILE of this process (1,024 when it cannot be read or is unlimited).
    public static func descriptorLimitOfThisProcess() -> Int {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max else { return 1024 }
        return Int(clamping: limit.rlim_cur)
        #else
        return 1024
        #endif
    }

    /// `derived` for this process's descriptor limit.
    public static func forThisProcess() -> ConnectionLimits {
        derived(descriptorLimit: descriptorLimitOfThisProcess())
    }
}
