import NIOCore
import NIOPosix

extension ServerBootstrap {
    /// A data-path listener (a sidecar's, a gateway's): a backlog of 256, address reuse, and
    /// accepted connections with TCP_NODELAY and no half-closure; with `stalls`, each accepted
    /// connection's reads mark the loop iteration they happen in (`LoopStallMonitor`).
    static func dataPath(group: any EventLoopGroup, stalls: LoopStallMonitor? = nil) -> ServerBootstrap {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // IPPROTO_TCP level: `.socketOption(.tcp_nodelay)` would set SOL_SOCKET option 1, SO_DEBUG,
            // which fails for a non-root sidecar (uid 1500) and closes every accepted connection.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
        guard let stalls else { return bootstrap }
        return bootstrap.childChannelOption(.recvAllocator, value: stalls.readMarker)
    }
}
