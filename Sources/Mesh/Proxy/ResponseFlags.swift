/// Why an exchange ended the way it did, in Envoy's access-log vocabulary (`%RESPONSE_FLAGS%`):
/// a 503 or a status 0 says which of the sidecar's decisions or which upstream failure caused it.
/// The engine sets them on its answers (`OutboundHTTPAction.respond`, `InboundHTTPDecision`), so
/// the simulator and the NIO sidecar report the same flags; an upstream's own answer has none.
///
/// | flag | Envoy's meaning | set when |
/// |---|---|---|
/// | `UF` | upstream connection failure | a connection could not be opened (refused, connect timeout), or the app behind an inbound sidecar could not be reached |
/// | `UO` | upstream overflow (circuit breaking) | a request, pending or connection limit overflowed, or FSM's error/slow breaker is open |
/// | `UH` | no healthy upstream | the cluster has no endpoint |
/// | `NR` | no route | no traffic match, route or inbound port |
/// | `RL` | rate limited locally | an inbound local rate limit refused the request or connection |
/// | `URX` | upstream retry limit exceeded | the last failure was retriable but the retries were used up |
/// | `UT` | upstream request timeout | the route timeout or the last try's per-try timeout passed (504) |
/// | `DC` | downstream connection termination | the app went away before its answer |
/// | `UC` | upstream connection termination | the upstream closed or reset the connection with the request on it |
/// | `LR` | connection local reset | the sidecar gave up the exchange itself (its body outgrew the replay buffer with a retry due) |
/// | `FI` | fault injected | a fault-injection filter aborted the request |
public struct ResponseFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let upstreamConnectionFailure = ResponseFlags(rawValue: 1 << 0)
    public static let upstreamOverflow = ResponseFlags(rawValue: 1 << 1)
    public static let noHealthyUpstream = ResponseFlags(rawValue: 1 << 2)
    public static let noRoute = ResponseFlags(rawValue: 1 << 3)
    public static let rateLimited = ResponseFlags(rawValue: 1 << 4)
    public static let upstreamRetryLimitExceeded = ResponseFlags(rawValue: 1 << 5)
    public static let upstreamRequestTimeout = ResponseFlags(rawValue: 1 << 6)
    public static let downstreamConnectionTermination = ResponseFlags(rawValue: 1 << 7)
    public static let upstreamConnectionTermination = ResponseFlags(rawValue: 1 << 8)
    public static let localReset = ResponseFlags(rawValue: 1 << 9)
    public static let faultInjected = ResponseFlags(rawValue: 1 << 10)

    /// Every flag with its short name, in the order Envoy prints them.
    public static let named: [(flag: ResponseFlags, name: String)] = [
        (.noHealthyUpstream, "UH"), (.upstreamConnectionFailure, "UF"), (.upstreamOverflow, "UO"), (.noRoute, "NR"),
        (.upstreamRetryLimitExceeded, "URX"), (.upstreamRequestTimeout, "UT"), (.localReset, "LR"),
        (.upstreamConnectionTermination, "UC"), (.downstreamConnectionTermination, "DC"), (.faultInjected, "FI"), (.rateLimited, "RL"),
    ]

    /// Envoy's form: the short names joined by commas, `-` when there is none.
    public var description: String {
        let names = ResponseFlags.named.filter { contains($0.flag) }.map(\.name)
        return names.isEmpty ? "-" : names.joined(separator: ",")
    }

    /// Parses the form `description` prints (`UF,URX`, `-`); nil for an unknown name.
    public init?(parsing text: String) {
        self = []
        guard text != "-" else { return }
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let entry = ResponseFlags.named.first(where: { $0.name == part }) else { return nil }
            insert(entry.flag)
        }
    }

    /// The flag of a local answer's reason (empty for access denied and config rejections, which
    /// Envoy flags with codes outside this set).
    public init(_ reason: LocalReason?) {
        switch reason {
        case .noRoute: self = .noRoute
        case .rateLimited: self = .rateLimited
        case .pendingOverflow, .requestOverflow, .connectionOverflow, .circuitOpen: self = .upstreamOverflow
        case .perTryTimeout, .requestTimeout: self = .upstreamRequestTimeout
        case .noEndpoints: self = .noHealthyUpstream
        case .upstreamFailure: self = .upstreamConnectionTermination
        case .faultAbort: self = .faultInjected
        case .accessDenied, .configRejected, .redirect, .noCertificate, nil: self = []
        }
    }
}

extension InboundHTTPDecision {
    /// The response flags of this decision (empty when the request goes on to the app).
    public var responseFlags: ResponseFlags {
        switch self {
        case .forward: []
        case .respond(_, let reason): ResponseFlags(reason)
        }
    }
}

extension InboundConnectionDecision {
    public var responseFlags: ResponseFlags {
        switch self {
        case .accept: []
        case .close(let reason): ResponseFlags(reason)
        }
    }
}

extension OutboundTCPDecision {
    public var responseFlags: ResponseFlags {
        switch self {
        case .connect: []
        case .reject(let reason): ResponseFlags(reason)
        }
    }
}
