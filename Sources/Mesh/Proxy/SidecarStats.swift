/// Counters outside any cluster, stored by index; names are interned when a config introduces them.
struct CounterTable: Sendable {
    private(set) var names: [String] = []
    private(set) var values: [UInt64] = []
    private var indexByName: [String: Int] = [:]

    // Fixed counters, interned first so their indices are constants.
    static let configApplied = 0
    static let configRejected = 1
    static let outboundNoRoute = 2
    static let inboundRqTotal = 3
    static let inboundAccessDenied = 4
    static let inboundNoRoute = 5
    static let inboundCxTotal = 6
    static let inboundCxActive = 7
    static let inboundRq1xx = 8 // 1xx...5xx follow in order
    static let throttleService = 13
    static let throttleRoute = 14
    static let inboundRateLimitedConnections = 15
    static let inboundAppUnreachable = 16
    static let inboundNoIdentity = 17
    static let outboundEgress = 18

    init() {
        for name in [
            "config_applied", "config_rejected", "outbound.no_route",
            "inbound.rq_total", "inbound.access_denied", "inbound.no_route", "inbound.cx_total", "inbound.cx_active",
            "inbound.rq_1xx", "inbound.rq_2xx", "inbound.rq_3xx", "inbound.rq_4xx", "inbound.rq_5xx",
            "http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_service",
            "http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_route",
            "inbound.cx_rate_limited", "inbound.app_unreachable", "inbound.cx_no_identity", "outbound.egress_passthrough",
        ] {
            _ = index(name)
        }
    }

    mutating func index(_ name: String) -> Int {
        if let existing = indexByName[name] { return existing }
        names.append(name)
        values.append(0)
        indexByName[name] = names.count - 1
        return names.count - 1
    }

    subscript(index: Int) -> UInt64 {
        get { values[index] }
        set { values[index] = newValue }
    }
}

/// A snapshot of a sidecar's counters under their Envoy-style names
/// (`cluster.<name>.upstream_rq_retry`, `local_rate_limit.inbound_<ns>/<svc>_<port>_tcp.rate_limited`, ...).
public struct SidecarStats: Sendable {
    private let entries: [(name: String, value: UInt64)]
    private let byName: [String: UInt64]

    init(_ unsorted: [(name: String, value: UInt64)]) {
        entries = unsorted.sorted { $0.name < $1.name }
        var table: [String: UInt64] = [:]
        for entry in entries { table[entry.name] = entry.value }
        byName = table
    }

    /// Every counter, sorted by name.
    public func counters() -> [(name: String, value: UInt64)] { entries }

    /// 0 for a name that is not a counter (yet).
    public func value(_ name: String) -> UInt64 { byName[name] ?? 0 }

    /// `name: value` lines, the form `fsm proxy get stats` prints.
    public var text: String {
        var out = ""
        for entry in entries { out += "\(entry.name): \(entry.value)\n" }
        return out
    }
}
