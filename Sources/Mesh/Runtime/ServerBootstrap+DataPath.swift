import NIOCore
import NIOPosix

extension ServerBootstrap {
    /// A data-path listener (a sidecar's, a gateway's): a backlog of 256, address reuse, and
    /// accepted connections with TCP_NODELAY and no half-closure.
    static func dataPath(group: any EventLoopGroup) -> ServerBootstrap {
        ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // IPPROTO_TCP level: `.socketOption(.tcp_nodelay)` would set SOL_SOCKET option 1, SO_DEBUG,
            // which fails for a non-root sidecar (uid 1500) and closes every accepted connection.
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: false)
    }
}
