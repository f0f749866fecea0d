import NIOCore
import NIOHTTP1

extension ChannelPipeline.SynchronousOperations {
    /// The HTTP/1.1 client side of a data-path connection (to a peer sidecar, to the local app):
    /// only NIO's response decoder, told of the requests `requests` writes (`UpstreamResponseDecoder`);
    /// the link writes its requests as bytes through `requests` (no encoder or validator handler).
    func addDataPathHTTPClientHandlers(requests: HTTP1RequestWriter) throws {
        try addHandler(ByteToMessageHandler(UpstreamResponseDecoder(requests: requests)))
    }
}
