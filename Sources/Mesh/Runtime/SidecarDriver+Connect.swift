import NIOCore
import NIOPosix

/// Opens a TCP connection to `host:port` within `timeout`, runs `initialize` on its channel before
/// it connects, and succeeds with the channel once connected (what `ClientBootstrap` does).
package typealias UpstreamConnector = (_ host: String, _ port: Int, _ timeout: TimeAmount,
                                       _ initialize: @escaping @Sendable (any Channel) throws -> Void) -> EventLoopFuture<any Channel>

extension SidecarDriver {
    /// Every connection the sidecar opens for traffic (to a peer sidecar, to the local app, the far
    /// end of a TCP tunnel) on the driver's loop, with TCP_NODELAY; `upstreamConnector` replaces
    /// the sockets (the fuzz harness connects EmbeddedChannels). With `cluster`, the connection's
    /// bytes count towards that cluster's byte counters.
    func connect(host: String, port: Int, timeout: TimeAmount, cluster: String? = nil,
                 initialize: @escaping @Sendable (any Channel) throws -> Void) -> EventLoopFuture<any Channel> {
        var initialize = initialize
        if let cluster {
            let counter = ClusterByteCounter(metrics.byteCounters(cluster: cluster))
            initialize = { [initialize] channel in
                try channel.pipeline.syncOperations.addHandler(counter)
                try initialize(channel)
            }
        }
        if let upstreamConnector { return upstreamConnector(host, port, timeout, initialize) }
        // A name outside the cluster the shell knows the address of (`SidecarSettings.hosts`).
        let host = settings.hosts.isEmpty ? host : settings.hosts[host.lowercased()] ?? host
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
        if let loopStalls { bootstrap = bootstrap.channelOption(.recvAllocator, value: loopStalls.readMarker) }
        return bootstrap
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try initialize(channel) } }
            .connect(host: host, port: port)
    }
}
