import MeshModel
import MeshProxy
import NIOCore
import NIOPosix

/// The kubelet's rewritten health probes (`SidecarSettings.probes`): an HTTP listener per HTTP
/// probe (15901-15903) and for `tcpSocket` probes (15904), and a raw relay per HTTPS probe, all on
/// the pod address and counted together against the `probe` connection limit.
extension SidecarProcess {
    /// A relayed HTTPS probe connection is closed after this long whatever it does (a probe is one
    /// short request; the kubelet gives up after its timeout anyway).
    static let probeRelayLifetime = TimeAmount.seconds(30)

    func listenForProbes() async throws -> [any Channel] {
        let driver = driver
        let responder = ProbeResponder(probes: driver.settings.probes)
        var channels: [any Channel] = []
        for listener in responder.listeners {
            switch listener {
            case .http(let port):
                channels.append(try await listen(.probe, host: driver.settings.listenAddress, port: port) { channel in
                    try driver.installDownstreamPipeline(on: channel, listener: .probe, peerTLS: false, http2: false, classifiesCaptured: false) {
                        ProbeHandler(driver: driver, responder: responder, port: port, handlers: $0)
                    }
                })
            case .relay(let port, let appPort, let connectTimeout):
                channels.append(try await listenRelay(port: port, appPort: appPort, connectTimeout: TimeAmount.nanoseconds(connectTimeout.nanoseconds)))
            }
        }
        return channels
    }

    /// HTTPS probes: the kubelet's TLS connection is relayed byte for byte to the app's port.
    private func listenRelay(port: Int, appPort: Int, connectTimeout: TimeAmount) async throws -> any Channel {
        let driver = driver
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 16)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard driver.admitConnection(on: .probe, channel) else { return channel.eventLoop.makeFailedFuture(ListenerFull(listener: .probe)) }
                let (kubeletSide, appSide) = TCPRelay.pair()
                let app = driver.localAppAddress(MeshProxy.SocketAddress(ip: "127.0.0.1", port: appPort))
                let lifetime = channel.eventLoop.scheduleTask(in: Self.probeRelayLifetime) { channel.close(promise: nil) }
                channel.closeFuture.whenComplete { _ in lifetime.cancel() }
                ClientBootstrap(group: channel.eventLoop)
                    .connectTimeout(connectTimeout)
                    .channelInitializer { upstream in upstream.eventLoop.makeCompletedFuture { try upstream.pipeline.syncOperations.addHandler(appSide) } }
                    .connect(host: app.ip, port: app.port)
                    .whenFailure { _ in
                        driver.count(.probeFailed)
                        appSide.closedForGood()
                    }
                return channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(kubeletSide) }
            }
            .bind(host: driver.settings.listenAddress, port: port)
            .get()
    }
}
