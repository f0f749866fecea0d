/// Each gateway socket's connections and what became of them, as a value: a connection is
/// admitted while its socket holds fewer than the limit (else refused: the shell closes it before
/// it costs anything), and every outcome is counted per socket, for `/metrics` and `/stats`.
struct GatewayListenerCounters {
    enum Admission: Equatable {
        case admit
        case refuse
    }

    /// What is counted per socket.
    enum Name: String, CaseIterable {
        /// Connections (UDP: client sessions) accepted and kept.
        case connections = "downstream_cx_total"
        /// Refused over the connection limit.
        case overflow = "downstream_cx_overflow"
        /// The engine refused the connection (no route, no listener for the SNI, no endpoint).
        case refused = "downstream_cx_refused"
        /// The TLS handshake failed (no certificate asked for, a client certificate missing or untrusted).
        case tlsHandshakeFailed = "downstream_cx_tls_handshake_failed"
        /// A relayed connection could not reach its backend.
        case upstreamConnectFailed = "upstream_cx_connect_fail"
        /// UDP: datagrams received from clients, and those dropped (no session, the session's backend gone).
        case datagramsReceived = "downstream_dgram_rx_total"
        case datagramsDropped = "downstream_dgram_dropped"
        /// UDP: sessions closed after the idle timeout.
        case sessionsIdleClosed = "downstream_session_idle_timeout"
        /// The socket could not be bound (the port taken): tried again with the next config.
        case bindFailed = "listener_bind_failed"
    }

    let limit: Int
    private var active: [GatewayListenerPlan.Socket: Int] = [:]
    private var counts: [GatewayListenerPlan.Socket: [Name: UInt64]] = [:]

    init(limit: Int) {
        self.limit = limit
    }

    /// The connections (or sessions) `socket` holds now.
    func active(_ socket: GatewayListenerPlan.Socket) -> Int { active[socket, default: 0] }

    func count(_ name: Name, _ socket: GatewayListenerPlan.Socket) -> UInt64 { counts[socket]?[name] ?? 0 }

    /// A connection accepted (or a new UDP client) on `socket`.
    mutating func opened(_ socket: GatewayListenerPlan.Socket) -> Admission {
        guard active[socket, default: 0] < limit else {
            add(.overflow, socket)
            return .refuse
        }
        active[socket, default: 0] += 1
        add(.connections, socket)
        return .admit
    }

    /// An admitted connection closed.
    mutating func closed(_ socket: GatewayListenerPlan.Socket) {
        active[socket] = max(0, active[socket, default: 0] - 1)
    }

    mutating func add(_ name: Name, _ socket: GatewayListenerPlan.Socket) {
        counts[socket, default: [:]][name, default: 0] += 1
    }

    /// The sockets ever counted (those of earlier configs too: counters never go back), in order.
    var sockets: [GatewayListenerPlan.Socket] { Set(counts.keys).union(active.keys).sorted() }
}
