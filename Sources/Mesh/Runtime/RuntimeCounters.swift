/// Events the NIO shell itself sees (not mesh decisions): bad input, transport failures, config
/// reloads. Exposed next to the engine's counters in `/stats` and `/stats/prometheus`.
public struct RuntimeCounters: Sendable {
    public enum Name: Int, CaseIterable, Sendable {
        case badRequest
        case requestBodyTooLarge
        case upstreamConnectFailed
        case upstreamReset
        case appConnectFailed
        case configReloadFailed
        case configReloaded
        case configFetchFailed
        case configRejected
        case tlsHandshakeFailed
        case certificateReloaded
        case certificateReloadFailed
        case certificateRequestFailed

        /// `runtime.<name>` in `/stats`.
        public var statName: String {
            switch self {
            case .badRequest: "runtime.downstream_rq_bad_request"
            case .requestBodyTooLarge: "runtime.downstream_rq_body_too_large"
            case .upstreamConnectFailed: "runtime.upstream_cx_connect_fail"
            case .upstreamReset: "runtime.upstream_cx_reset"
            case .appConnectFailed: "runtime.local_app_cx_connect_fail"
            case .configReloadFailed: "runtime.config_reload_failed"
            case .configReloaded: "runtime.config_reloaded"
            case .configFetchFailed: "runtime.config_fetch_failed"
            case .configRejected: "runtime.config_rejected"
            case .tlsHandshakeFailed: "runtime.tls_handshake_failed"
            case .certificateReloaded: "runtime.cert_reloaded"
            case .certificateReloadFailed: "runtime.cert_reload_failed"
            case .certificateRequestFailed: "runtime.cert_request_failed"
            }
        }
    }

    private var values = [UInt64](repeating: 0, count: Name.allCases.count)

    public init() {}

    public subscript(name: Name) -> UInt64 {
        get { values[name.rawValue] }
        set { values[name.rawValue] = newValue }
    }

    public func entries() -> [(name: String, value: UInt64)] {
        Name.allCases.map { ($0.statName, values[$0.rawValue]) }
    }
}
