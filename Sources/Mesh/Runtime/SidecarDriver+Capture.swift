#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshProxy
import MeshRedirect
import NIOCore

extension SidecarDriver {
    /// Under capture (iptables or eBPF), reads an accepted connection's original destination
    /// (SO_ORIGINAL_DST: netfilter's after a nat REDIRECT, or the eBPF getsockopt program's answer
    /// from its maps) and hands it to `found`; nil in local mode, or when the connection was not
    /// redirected (made straight to the listener). On the channel's loop the socket option is
    /// read at once, so `found` runs before the connection's first read.
    func readOriginalDestination(of channel: any Channel, _ found: @escaping (MeshProxy.SocketAddress?) -> Void) {
        #if canImport(Glibc)
        // An HTTP/2 stream's socket is its parent connection's.
        guard settings.capture.isTransparent, let provider = (channel as? any SocketOptionProvider) ?? (channel.parent as? any SocketOptionProvider) else { return }
        let option: EventLoopFuture<sockaddr_in> = provider.unsafeGetSocketOption(
            level: NIOBSDSocket.OptionLevel(rawValue: CInt(IPPROTO_IP)), name: NIOBSDSocket.Option(rawValue: soOriginalDestination))
        let logger = logger
        option.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let address):
                found(MeshRedirect.originalDestination(from: address).map { MeshProxy.SocketAddress(ip: $0.ip, port: $0.port) })
            case .failure(let error):
                logger.debug("no original destination on a captured connection", metadata: ["error": "\(error)"])
                found(nil)
            }
        }
        #endif
    }
}

/// First handler of an app connection captured on the outbound listener (iptables or eBPF). Before a
/// byte is read, the connection's original destination decides: a port the engine's config calls
/// TCP (or TCP-server-first, whose clients wait for the server to speak) is relayed as raw bytes;
/// anything else gets the listener's HTTP handlers, installed behind this one, which then leaves.
final class CapturedConnectionClassifier: ChannelInboundHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    private let driver: SidecarDriver
    private let installHTTP: (ChannelPipeline.SynchronousOperations) throws -> Void

    init(driver: SidecarDriver, installHTTP: @escaping (ChannelPipeline.SynchronousOperations) throws -> Void) {
        self.driver = driver
        self.installHTTP = installHTTP
    }

    func channelActive(context: ChannelHandlerContext) {
        var destination: MeshProxy.SocketAddress?
        // On the channel's loop the socket option is read at once.
        driver.readOriginalDestination(of: context.channel) { destination = $0 }
        let operations = context.pipeline.syncOperations
        if let destination, driver.engine.outboundCarriesHTTP(to: destination) == false {
            driver.capturedTCPConnection(to: destination, on: operations, channel: context.channel)
        } else {
            do {
                try installHTTP(operations)
            } catch {
                driver.logger.warning("cannot set up the connection's protocol handlers", metadata: ["error": "\(error)"])
                context.close(promise: nil)
                return
            }
        }
        context.fireChannelActive()
        operations.removeHandler(context: context, promise: nil)
    }
}
