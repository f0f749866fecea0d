/// The programs' counters (`fsm_stats`, summed over CPUs), in the order of `enum fsm_stat`.
public struct InterceptorStatistics: Hashable, Sendable, CustomStringConvertible {
    public enum Counter: Int, CaseIterable, Sendable {
        case outboundRedirected, outboundBypassed, sidecarPassed, localInboundRedirected, inboundNAT, inboundBypassed
        case originalDestinationAnswered, originalDestinationMissing, socketsAccelerated, messagesRedirected
        case bindFailed, recordFailed

        /// The name printed in logs and by `fsm interceptor` at exit.
        public var name: String {
            switch self {
            case .outboundRedirected: "outbound_redirected"
            case .outboundBypassed: "outbound_bypassed"
            case .sidecarPassed: "sidecar_passed"
            case .localInboundRedirected: "local_inbound_redirected"
            case .inboundNAT: "inbound_redirected"
            case .inboundBypassed: "inbound_bypassed"
            case .originalDestinationAnswered: "original_dst_answered"
            case .originalDestinationMissing: "original_dst_missing"
            case .socketsAccelerated: "sockets_accelerated"
            case .messagesRedirected: "messages_redirected"
            case .bindFailed: "bind_failed"
            case .recordFailed: "record_failed"
            }
        }
    }

    public private(set) var values: [Counter: UInt64] = [:]

    public init(values: [Counter: UInt64] = [:]) {
        self.values = values
    }

    public subscript(counter: Counter) -> UInt64 { values[counter] ?? 0 }

    /// `name=value` for every counter, in declaration order.
    public var description: String {
        Counter.allCases.map { "\($0.name)=\(self[$0])" }.joined(separator: " ")
    }
}
