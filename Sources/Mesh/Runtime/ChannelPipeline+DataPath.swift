import NIOCore
import NIOHTTP1

extension ChannelPipeline.SynchronousOperations {
    /// The HTTP/1.1 client codec of a data-path connection (to a peer sidecar, to the local app):
    /// NIO's encoder and decoder, without NIO's request-head validator (the link checks each head
    /// it writes: `ForwardedRequestCheck`).
    func addDataPathHTTPClientHandlers() throws {
        try addHandler(HTTPRequestEncoder())
        try addHandler(ByteToMessageHandler(HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)))
    }
}
