import Foundation
import MeshIdentity
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwiftASN1
import X509

/// What the API server does with the webhook: one HTTPS request on a new connection, the server's
/// certificate checked against the CA bundle for the service's DNS name.
enum WebhookTestClient {
    struct Response {
        var status: Int
        var body: String
        /// The serial number (hex) of the certificate the server presented.
        var serial: String
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func request(host: String, port: Int, method: HTTPMethod = .POST, path: String, body: String = "", contentType: String? = "application/json",
                        caPEM: String, serverName: String = "fsm-injector.fsm-system.svc") async throws -> Response {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        let context = try NIOSSLContext(configuration: configuration)
        let group = MultiThreadedEventLoopGroup.singleton
        let promise = group.next().makePromise(of: (Int, String).self)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: serverName))
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(Collector(promise: promise))
                    }
                }
                .connect(host: host, port: port)
                .get()
        } catch {
            promise.fail(error)
            throw error
        }
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "host", value: serverName)
        if let contentType { head.headers.add(name: "content-type", value: contentType) }
        head.headers.add(name: "content-length", value: String(body.utf8.count))
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(string: body))), promise: nil)
        try await channel.writeAndFlush(HTTPClientRequestPart.end(nil))
        let timer = channel.eventLoop.scheduleTask(in: .seconds(15)) { promise.fail(Failure(description: "no answer within 15 s")) }
        defer { timer.cancel() }
        let (status, text) = try await promise.futureResult.get()
        let certificate = try await channel.nioSSL_peerCertificate().get()
        try? await channel.close()
        let serial = try certificate.map { try X509Serial.hex(of: $0) } ?? ""
        return Response(status: status, body: text, serial: serial)
    }

    /// Opens a TLS connection and completes the handshake, nothing more (connection-limit tests).
    static func connect(host: String, port: Int, caPEM: String) async throws -> any Channel {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(Array(caPEM.utf8)))
        let context = try NIOSSLContext(configuration: configuration)
        return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: "fsm-injector.fsm-system.svc"))
                }
            }
            .connect(host: host, port: port)
            .get()
    }

    private final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<(Int, String)>
        var status = 0
        var body = ""

        init(promise: EventLoopPromise<(Int, String)>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): status = Int(head.status.code)
            case .body(let buffer): body += String(buffer: buffer)
            case .end: promise.succeed((status, body))
            }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            // A promise completes once: after an answer or an error this does nothing.
            promise.fail(Failure(description: "the connection closed without a complete answer"))
        }
    }
}

enum X509Serial {
    static func hex(of certificate: NIOSSLCertificate) throws -> String {
        let parsed = try Certificate(derEncoded: try certificate.toDERBytes())
        return parsed.serialNumber.bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
