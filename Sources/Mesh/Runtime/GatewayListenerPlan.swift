import MeshModel

/// Which sockets a gateway holds for its config, and what changes when a new config arrives, as a
/// value: one socket per port and transport (listeners of one port share it: HTTPS listeners with
/// different hostnames, TLS passthrough beside HTTPS terminate; the ClientHello's SNI tells them
/// apart), opened when a config names a port first, closed when no config listener names it any
/// more, reopened when the port's kind changes (HTTP to TCP). Open connections of a closed socket
/// finish on their own.
struct GatewayListenerPlan: Equatable {
    /// How a socket's connections are handled.
    enum Kind: String, Hashable, Comparable, CustomStringConvertible {
        /// HTTP/1.1 and h2c (prior knowledge).
        case http
        /// TLS: the ClientHello's SNI is peeked, then terminated (HTTPS, TLS Terminate) or relayed (Passthrough).
        case tls
        /// Raw TCP relay.
        case tcp
        /// Datagrams, relayed per client address.
        case udp

        static func < (a: Kind, b: Kind) -> Bool { a.rawValue < b.rawValue }
        var description: String { rawValue }

        init(_ listenerProtocol: GatewayListenerProtocol) {
            switch listenerProtocol {
            case .http: self = .http
            case .https, .tls: self = .tls
            case .tcp: self = .tcp
            case .udp: self = .udp
            }
        }

        var isDatagram: Bool { self == .udp }
    }

    struct Socket: Hashable, Comparable, CustomStringConvertible {
        var port: Int
        var kind: Kind
        static func < (a: Socket, b: Socket) -> Bool { (a.port, a.kind) < (b.port, b.kind) }
        var description: String { "\(kind):\(port)" }
    }

    /// A config listener that cannot share its port with the one before it (HTTP and TCP on one
    /// port): it gets no socket; the port keeps the first listener's kind.
    struct Conflict: Equatable {
        var listener: String
        var port: Int
        var kind: Kind
        var portKind: Kind
    }

    private(set) var sockets: [Socket]
    private(set) var conflicts: [Conflict]

    /// The sockets `config` needs, in port order: a port's kind is its first listener's (the
    /// controller's order); a datagram port and a stream port of the same number are two sockets.
    init(_ config: GatewayConfig) {
        var byPort: [Int: [Kind]] = [:]
        var conflicts: [Conflict] = []
        for listener in config.listeners {
            let kind = Kind(listener.protocol)
            let kinds = byPort[listener.port, default: []]
            if let existing = kinds.first(where: { $0.isDatagram == kind.isDatagram }) {
                if existing != kind { conflicts.append(Conflict(listener: listener.name, port: listener.port, kind: kind, portKind: existing)) }
                continue
            }
            byPort[listener.port] = kinds + [kind]
        }
        sockets = byPort.flatMap { port, kinds in kinds.map { Socket(port: port, kind: $0) } }.sorted()
        self.conflicts = conflicts
    }

    /// No config yet: no sockets.
    init() {
        sockets = []
        conflicts = []
    }

    /// What to do to go from the sockets of `self` to those of `next`: sockets to close first
    /// (their ports may be reopened with another kind), then sockets to open.
    func changes(to next: GatewayListenerPlan) -> (close: [Socket], open: [Socket]) {
        let now = Set(sockets), wanted = Set(next.sockets)
        return (now.subtracting(wanted).sorted(), wanted.subtracting(now).sorted())
    }
}
