import MeshProxy
import NIOCore

/// A UDP listener's client sessions, as a value: the first datagram of a client address opens a
/// session (when the listener's connection limit admits it and the engine names a backend),
/// each datagram either way keeps it alive, and a session without one for `idleTimeout` is closed
/// by the next sweep. Times are the shell's monotonic instants, given with every event.
struct GatewayUDPSessions {
    struct Session: Equatable {
        var id: ConnectionID
        var lastActivity: NIODeadline
    }

    enum Arrival: Equatable {
        /// A known client: forward on its session.
        case forward(ConnectionID)
        /// A new client: admit it and ask the engine, then `opened` (or drop the datagram).
        case open
    }

    let idleTimeout: TimeAmount
    private(set) var sessions: [MeshProxy.SocketAddress: Session] = [:]

    init(idleTimeout: TimeAmount) {
        self.idleTimeout = idleTimeout
    }

    var count: Int { sessions.count }

    /// A datagram from `client` at `now`.
    mutating func datagram(from client: MeshProxy.SocketAddress, at now: NIODeadline) -> Arrival {
        if var session = sessions[client] {
            session.lastActivity = now
            sessions[client] = session
            return .forward(session.id)
        }
        return .open
    }

    /// The engine gave `client` a backend: its session is `id`.
    mutating func opened(_ id: ConnectionID, for client: MeshProxy.SocketAddress, at now: NIODeadline) {
        sessions[client] = Session(id: id, lastActivity: now)
    }

    /// The backend answered `client` at `now`.
    mutating func answered(_ client: MeshProxy.SocketAddress, at now: NIODeadline) {
        sessions[client]?.lastActivity = now
    }

    /// A session ended (its backend socket failed or closed).
    mutating func closed(_ client: MeshProxy.SocketAddress) {
        sessions[client] = nil
    }

    /// The sessions idle for `idleTimeout` or longer at `now`, removed and returned (by client, sorted).
    mutating func sweep(at now: NIODeadline) -> [(client: MeshProxy.SocketAddress, id: ConnectionID)] {
        guard idleTimeout.nanoseconds > 0 else { return [] }
        let expired = sessions.filter { now - $0.value.lastActivity >= idleTimeout }
        for client in expired.keys { sessions[client] = nil }
        return expired.map { (client: $0.key, id: $0.value.id) }.sorted { ($0.client.ip, $0.client.port) < ($1.client.ip, $1.client.port) }
    }

    /// How often to sweep: a quarter of the idle timeout, between 10 ms and 1 s.
    var sweepInterval: TimeAmount {
        let quarter = idleTimeout.nanoseconds / 4
        return .nanoseconds(min(1_000_000_000, max(10_000_000, quarter)))
    }
}
