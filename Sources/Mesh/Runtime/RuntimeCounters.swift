/// Events the NIO shell itself sees (not mesh decisions): bad input, transport failures, config
/// reloads. Exposed next to the engine's counters in `/stats` and `/stats/prometheus`.
public struct RuntimeCounters: Sendable {
    public enum Name: Int, CaseIterable, Sendable {
        case badRequest
        case requestHeadersTooLarge
        case requestHeaderTimeout
        case idleTimeout
        case requestBodyTooLarge
        case upstreamRequestTimeout
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
        /// Downstream connections that spoke HTTP/2 (prior knowledge, or h2 inside mTLS).
        case downstreamHTTP2Connections
        /// Connections that began like the HTTP/2 preface and then broke it.
        case http2BadPreface
        /// HTTP/2 connections closed (GOAWAY) for a malformed frame or a protocol violation.
        case http2ProtocolError
        /// HTTP/2 connections opened towards peer sidecars and local apps.
        case upstreamHTTP2Connections
        /// Local answers (403, 429, 503, 504, ...) written as a gRPC status to a gRPC request.
        case grpcLocalReply

        /// `runtime.<name>` in `/stats`.
        public var statName: String {
            switch self {
            case .badRequest: "runtime.downstream_rq_bad_request"
            case .requestHeadersTooLarge: "runtime.downstream_rq_headers_too_large"
            case .requestHeaderTimeout: "runtime.downstream_rq_header_timeout"
            case .idleTimeout: "runtime.downstream_cx_idle_timeout"
            case .requestBodyTooLarge: "runtime.downstream_rq_body_too_large"
            case .upstreamRequestTimeout: "runtime.upstream_rq_timeout"
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
            case .downstreamHTTP2Connections: "runtime.downstream_cx_http2"
            case .http2BadPreface: "runtime.downstream_cx_h2_bad_preface"
            case .http2ProtocolError: "runtime.downstream_cx_h2_protocol_error"
            case .upstreamHTTP2Connections: "runtime.upstream_cx_http2"
            case .grpcLocalReply: "runtime.downstream_rq_grpc_local_reply"
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

/// `fsm_request_total` and `fsm_request_duration_ms` per direction and status code.
public struct RequestMetrics: Sendable {
    public enum Direction: String, Sendable, CaseIterable {
        case outbound, inbound
    }

    /// Upper bounds in milliseconds (the last bucket is +Inf).
    public static let bucketBounds: [Double] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

    public struct Series: Sendable {
        public var count: UInt64 = 0
        public var sumMilliseconds: Double = 0
        /// Non-cumulative counts per bucket, with a final +Inf bucket.
        public var buckets = [UInt64](repeating: 0, count: RequestMetrics.bucketBounds.count + 1)
    }

    /// Keyed by direction index * 600 + status (0...599); sparse.
    public private(set) var series: [Int: Series] = [:]

    public init() {}

    public mutating func record(_ direction: Direction, status: Int, milliseconds: Double) {
        let code = (0..<600).contains(status) ? status : 0
        let key = (direction == .outbound ? 0 : 600) + code
        var entry = series[key] ?? Series()
        entry.count += 1
        entry.sumMilliseconds += milliseconds
        let bucket = RequestMetrics.bucketBounds.firstIndex(where: { milliseconds <= $0 }) ?? RequestMetrics.bucketBounds.count
        entry.buckets[bucket] += 1
        series[key] = entry
    }

    public func sortedSeries() -> [(direction: Direction, status: Int, series: Series)] {
        series.keys.sorted().map { key in (key < 600 ? .outbound : .inbound, key % 600, series[key]!) }
    }
}
