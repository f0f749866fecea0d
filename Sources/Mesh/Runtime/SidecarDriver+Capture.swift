#if canImport(Glibc)
import Glibc
#endif
import Logging
import MeshProxy
import MeshRedirect
import NIOCore

extension SidecarDriver {
    /// Under iptables capture, reads an accepted connection's original destination
    /// (SO_ORIGINAL_DST) and hands it to `found`; nil in local mode, or when the connection was
    /// not redirected (made straight to the listener). On the channel's loop the socket option is
    /// read at once, so `found` runs before the connection's first read.
    func readOriginalDestination(of channel: any Channel, _ found: @escaping (MeshProxy.SocketAddress?) -> Void) {
        #if canImport(Glibc)
        // An HTTP/2 stream's socket is its parent connection's.
        guard settings.capture == .iptables, let provider = (channel as? any SocketOptionProvider) ?? (channel.parent as? any SocketOptionProvider) else { return }
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
