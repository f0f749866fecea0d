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

    /// Set while the first bytes of a passthrough connection decide its protocol.
    private var sniffing: MeshProxy.SocketAddress?

    func channelActive(context: ChannelHandlerContext) {
        var destination: MeshProxy.SocketAddress?
        // On the channel's loop the socket option is read at once.
        driver.readOriginalDestination(of: context.channel) { destination = $0 }
        let carriesHTTP = destination.flatMap { driver.engine.outboundCarriesHTTP(to: $0) }
        if let destination, carriesHTTP == nil, driver.engine.passesEgressThrough {
            // Passthrough, as Pipy's egress does it: the first bytes tell HTTP from anything else
            // (a server-first protocol needs an Egress rule of protocol tcp-server-first).
            sniffing = destination
            // A client that never speaks is closed as a silent HTTP one would be.
            let timeout = driver.settings.requestHeaderTimeout
            if timeout > .zero {
                let channel = context.channel
                context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                    if sniffing != nil { channel.close(promise: nil) }
                }
            }
            return
        }
        let operations = context.pipeline.syncOperations
        if let destination, carriesHTTP == false, driver.engine.outboundReadsServerName(to: destination) {
            guard peekServerName(context, destination: destination) else { return }
        } else if let destination, carriesHTTP == false {
            driver.relayRawConnection(to: destination, channel: context.channel)
        } else if !install(context) {
            return
        }
        context.fireChannelActive()
        operations.removeHandler(context: context, promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let destination = sniffing else { return context.fireChannelRead(data) }
        sniffing = nil
        let operations = context.pipeline.syncOperations
        if CapturedConnectionClassifier.looksLikeHTTP(unwrapInboundIn(data)) {
            guard install(context) else { return }
        } else {
            driver.relayRawConnection(to: destination, channel: context.channel)
        }
        context.fireChannelActive()
        context.fireChannelRead(data)
        operations.removeHandler(context: context, promise: nil)
    }

    /// An `https` Egress rule names hosts on this port: the ClientHello's server name is read
    /// (holding the bytes), the engine decides with it, and the relay behind gets the ClientHello.
    private func peekServerName(_ context: ChannelHandlerContext, destination: MeshProxy.SocketAddress) -> Bool {
        let channel = context.channel
        let driver = driver
        return driver.peekServerName(on: channel, install: { try channel.pipeline.syncOperations.addHandler($0, position: .after(self)) }) { serverName in
            driver.relayRawConnection(to: destination, serverName: serverName, channel: channel)
        }
    }

    private func install(_ context: ChannelHandlerContext) -> Bool {
        do {
            try installHTTP(context.pipeline.syncOperations)
            return true
        } catch {
            driver.logger.warning("cannot set up the connection's protocol handlers", metadata: ["error": "\(error)"])
            context.close(promise: nil)
            return false
        }
    }

    /// An HTTP/1 request line's start: an uppercase method token and a space (`GET `, `POST `);
    /// a first read shorter than that counts when what it has is uppercase letters.
    static func looksLikeHTTP(_ buffer: ByteBuffer) -> Bool {
        let bytes = buffer.readableBytesView.prefix(9)
        guard let first = bytes.first, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(first) else { return false }
        for byte in bytes.dropFirst() {
            if byte == UInt8(ascii: " ") { return true }
            guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) else { return false }
        }
        return bytes.count < 9
    }
}
