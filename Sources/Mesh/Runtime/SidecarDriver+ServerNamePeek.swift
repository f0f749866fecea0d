import MeshProxy
import NIOCore
import NIOTLS

extension SidecarDriver {
    /// Reads the server name of the TLS an app starts on `channel` before anything is decided:
    /// NIO's `SNIHandler`, put in the pipeline by `install`, holds the bytes until the ClientHello's
    /// `server_name` is read, runs `decided` with it (nil: no SNI, or bytes that are no
    /// ClientHello), then leaves and passes the ClientHello on to what `decided` installed behind
    /// it (DECISIONS 198, 228). Never terminates the TLS. A client still sending its ClientHello at
    /// the request header timeout is closed, as a silent HTTP client would be. False when the
    /// handler could not be added (the connection is closed).
    func peekServerName(on channel: any Channel, install: (any ChannelHandler) throws -> Void,
                        decided: @escaping (_ serverName: String?) -> Void) -> Bool {
        let peek = ByteToMessageHandler(SNIHandler { result in
            let serverName: String? = if case .hostname(let name) = result { name } else { nil }
            decided(serverName)
            return channel.eventLoop.makeSucceededVoidFuture()
        })
        do {
            try install(peek)
        } catch {
            channel.close(promise: nil)
            return false
        }
        let timeout = settings.requestHeaderTimeout
        if timeout > .zero {
            channel.eventLoop.assumeIsolated().scheduleTask(in: timeout) {
                if (try? channel.pipeline.syncOperations.context(handler: peek)) != nil { channel.close(promise: nil) }
            }
        }
        return true
    }
}
