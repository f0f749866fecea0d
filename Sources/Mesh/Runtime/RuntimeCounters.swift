import MeshModel

/// Events the NIO shell itself sees (not mesh decisions): bad input, transport failures, config
/// reloads, connections refused over a listener's limit. Exposed next to the engine's counters in `/stats` and `/stats/prometheus`.
public struct RuntimeCounters: Sendable {
    public enum Name: Int, CaseIterable, Sendable {
        case badRequest
        case requestHeadersTooLarge
        case requestHeaderTimeout
        case idleTimeout
        /// Request bodies that outgrew the replay buffer while streaming (no retry possible).
        case requestBodyNotReplayable
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
        case certificateRequestFailed
        /// TLS handshakes on the inbound listener not completed within the handshake timeout.
        case tlsHandshakeTimeout
        /// Connections accepted over a listener's connection limit and closed at once.
        case outboundOverflow
        case inboundOverflow
        case adminOverflow
        case prometheusOverflow
        case probeOverflow
        /// Rewritten health probes whose app endpoint refused or did not answer in time (503).
        case probeFailed

        /// The overflow counter of `listener`.
        public static func overflow(_ listener: ListenerKind) -> Name {
            switch listener {
            case .outbound: .outboundOverflow
            case .inbound: .inboundOverflow
            case .admin: .adminOverflow
            case .prometheus: .prometheusOverflow
            case .probe: .probeOverflow
            }
        }
        /// Starts from the cache directory (`--cache-dir`) while the controller did not answer.
        case configCacheLoaded
        /// Cached files ignored at start: they did not decode, or the certificate had expired.
        case configCacheRejected
        /// Accepted configs or certificates that could not be written to the cache directory.
        case configCacheWriteFailed
        /// Requests on each rewritten probe port (15901 liveness, 15902 readiness, 15903 startup,
        /// 15904 `/fsm-healthcheck`): what the kubelet sent.
        case probeLivenessRequests
        case probeReadinessRequests
        case probeStartupRequests
        case probeHealthcheckRequests
        /// Access-log lines dropped because the sink's buffer was full (a slow or blocked writer).
        case accessLogDropped
        /// Access-log lines handed to the sink.
        case accessLogWritten
        /// A gateway's RequestMirror copy that could not be sent (its endpoint refused), or was not
        /// (the client's body still streaming or past the replay limit).
        case gatewayMirrorFailed
        case gatewayMirrorSkipped

        /// The request counter of a probe listener's port; nil for another port.
        public static func probeRequests(port: Int) -> Name? {
            switch port {
            case SidecarProbe.Kind.liveness.port: .probeLivenessRequests
            case SidecarProbe.Kind.readiness.port: .probeReadinessRequests
            case SidecarProbe.Kind.startup.port: .probeStartupRequests
            case SidecarProbe.healthcheckPort: .probeHealthcheckRequests
            default: nil
            }
        }

        /// `runtime.<name>` in `/stats`.
        public var statName: String {
            switch self {
            case .badRequest: "runtime.downstream_rq_bad_request"
            case .requestHeadersTooLarge: "runtime.downstream_rq_headers_too_large"
            case .requestHeaderTimeout: "runtime.downstream_rq_header_timeout"
            case .idleTimeout: "runtime.downstream_cx_idle_timeout"
            case .requestBodyNotReplayable: "runtime.downstream_rq_body_not_replayable"
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
            case .certificateRequestFailed: "runtime.cert_request_failed"
            case .tlsHandshakeTimeout: "runtime.downstream_cx_tls_handshake_timeout"
            case .outboundOverflow: "runtime.outbound.downstream_cx_overflow"
            case .inboundOverflow: "runtime.inbound.downstream_cx_overflow"
            case .adminOverflow: "runtime.admin.downstream_cx_overflow"
            case .prometheusOverflow: "runtime.prometheus.downstream_cx_overflow"
            case .configCacheLoaded: "runtime.config_cache_loaded"
            case .configCacheRejected: "runtime.config_cache_rejected"
            case .configCacheWriteFailed: "runtime.config_cache_write_failed"
            case .probeOverflow: "runtime.probe.downstream_cx_overflow"
            case .probeFailed: "runtime.probe.app_unavailable"
            case .probeLivenessRequests: "runtime.probe.liveness.rq_total"
            case .probeReadinessRequests: "runtime.probe.readiness.rq_total"
            case .probeStartupRequests: "runtime.probe.startup.rq_total"
            case .probeHealthcheckRequests: "runtime.probe.healthcheck.rq_total"
            case .accessLogDropped: "runtime.access_log_dropped"
            case .accessLogWritten: "runtime.access_log_written"
            case .gatewayMirrorFailed: "runtime.gateway_mirror_failed"
            case .gatewayMirrorSkipped: "runtime.gateway_mirror_skipped"
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
