import NIOCore
import NIOHTTP1

/// NIO's HTTP/1.1 response decoder for a data-path client connection, told of the requests
/// written by the connection's `HTTP1RequestWriter` just before it reads bytes, instead of by
/// observing every write that passes it (which made it a handler on each request part's way and
/// required the parts, not bytes). Telling it before each read keeps NIO's own rule (a write made
/// while it parses is told of after the parse, before the next bytes): an answer can only be in
/// bytes read after its request was written.
struct UpstreamResponseDecoder: ByteToMessageDecoder {
    typealias InboundOut = HTTPClientResponsePart

    private let decoder = HTTPResponseDecoder(leftOverBytesStrategy: .dropBytes)
    private let requests: HTTP1RequestWriter

    init(requests: HTTP1RequestWriter) {
        self.requests = requests
    }

    mutating func decoderAdded(context: ChannelHandlerContext) {
        decoder.decoderAdded(context: context)
    }

    mutating func decoderRemoved(context: ChannelHandlerContext) {
        decoder.decoderRemoved(context: context)
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        requests.announce(to: decoder)
        return try decoder.decode(context: context, buffer: &buffer)
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        requests.announce(to: decoder)
        return try decoder.decodeLast(context: context, buffer: &buffer, seenEOF: seenEOF)
    }
}
