import AsyncHTTPClient
import NIOCore
import NIOHTTP1

/// A response read whole (admin pages, the controller's API, the demo apps; not the data path).
public struct MeshHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: String

    public init(status: Int, headers: [(name: String, value: String)], body: String) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first(where: { $0.name.lowercased() == name.lowercased() })?.value
    }
}

/// One HTTP/1.1 request on async-http-client, read whole and bounded by `timeout` (connecting
/// included). `client` is the caller's component's client (a sidecar's, a demo app's), or the
/// process-wide `MeshHTTP.shared` for one-shot commands. A refused connection fails at once (no
/// retry until the deadline: the caller counts it and backs off). Cancelling the calling task
/// cancels the request, so a held long poll ends at once.
public enum MeshHTTP {
    /// The process's client for one-shot calls (commands, tests), on NIO's singleton loops; never shut down.
    public static let shared = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)

    static var configuration: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10)), decompression: .disabled)
        configuration.httpVersion = .http1Only
        configuration.connectionPool.retryConnectionEstablishment = false
        return configuration
    }

    /// Bodies larger than this are an error (nothing the mesh asks for comes near it).
    public static let maxBodyBytes = 64 << 20

    public static func request(
        host: String, port: Int, method: HTTPMethod = .GET, path: String, headers: [(String, String)] = [], body: String? = nil,
        timeout: TimeAmount = .seconds(10), localAddress: String? = nil, client: HTTPClient = MeshHTTP.shared
    ) async throws -> MeshHTTPResponse {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var request = HTTPClientRequest(url: "http://\(authority)\(path)")
        request.method = method
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            request.body = .bytes(ByteBuffer(string: body))
        } else if method == .POST || method == .PUT {
            request.headers.replaceOrAdd(name: "content-length", value: "0")
        }
        request.localAddress = localAddress
        let deadline = NIODeadline.now() + timeout
        let response = try await client.execute(request, deadline: deadline)
        let bytes = try await response.body.collect(upTo: maxBodyBytes)
        return MeshHTTPResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: String(buffer: bytes))
    }

    /// A client for one component (a sidecar's controller connections, a demo app's loop) on the
    /// component's own event loop group; shut it down before the group.
    public static func makeClient(eventLoopGroup: any EventLoopGroup) -> HTTPClient {
        HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }
}
