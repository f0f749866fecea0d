import AsyncHTTPClient
import Foundation
import Logging
import MeshModel
import NIOCore
import NIOHTTP1
import NIOSSL

/// A client of one Kubernetes API server on async-http-client: JSON requests with deadlines,
/// errors as one-line `KubeError`s, list (paginated) and watch streams, and the writes the mesh
/// needs (see `KubeClient+Writes.swift`). One per process; `shutdown()` it last.
public final class KubeClient: Sendable {
    public let connection: KubeConnection
    /// The deadline of every request but watches (whose deadline follows their `timeoutSeconds`).
    public let requestTimeout: TimeAmount
    /// Responses larger than this are refused (a list is fetched in pages well below it).
    public let maxResponseBytes: Int
    let http: HTTPClient
    private let tokens: KubeTokenSource
    private let logger: Logger

    public init(connection: KubeConnection, eventLoopGroup: (any EventLoopGroup)? = nil, requestTimeout: TimeAmount = .seconds(30),
                maxResponseBytes: Int = 64 << 20, logger: Logger = Logger(label: "fsm.kube")) throws(KubeError) {
        self.connection = connection
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.logger = logger
        // Every watch holds an HTTP/1.1 connection for minutes: the pool must have room for all of
        // them (one per informer) and the lists, leases and writes beside them.
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: try Self.tlsConfiguration(connection), redirectConfiguration: .disallow,
            timeout: .init(connect: .seconds(10)), connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: Self.maxConnections),
            proxy: nil, ignoreUncleanSSLShutdown: false, decompression: .disabled)
        configuration.httpVersion = .http1Only
        // A refused connection is reported at once (the informers back off), not retried until the deadline.
        configuration.connectionPool.retryConnectionEstablishment = false
        http = HTTPClient(eventLoopGroup: eventLoopGroup ?? HTTPClient.defaultEventLoopGroup, configuration: configuration, backgroundActivityLogger: logger)
        tokens = KubeTokenSource(connection.credentials)
        if connection.trust == .insecureSkipVerify {
            logger.warning("the API server's certificate is not verified (insecure-skip-tls-verify)", metadata: ["server": "\(connection.server)"])
        }
    }

    /// Connections to the API server at most (watches of every mesh kind, and room for the rest).
    public static let maxConnections = 64

    /// Closes every connection; call once, after the last request.
    public func shutdown() async {
        try? await http.shutdown()
    }

    static func tlsConfiguration(_ connection: KubeConnection) throws(KubeError) -> TLSConfiguration {
        var tls = TLSConfiguration.makeClientConfiguration()
        do {
            switch connection.trust {
            case .systemRoots: break
            case .certificateAuthority(let pem): tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(pem))
            case .insecureSkipVerify: tls.certificateVerification = .none
            }
        } catch {
            throw KubeError(.configuration, request: connection.origin, message: "the cluster CA is not a PEM certificate bundle: \(error)")
        }
        if case .clientCertificate(let certificatePEM, let keyPEM) = connection.credentials {
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificatePEM).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyPEM, format: .pem))
            } catch {
                throw KubeError(.configuration, request: connection.origin, message: "the client certificate or key is not usable PEM: \(error)")
            }
        }
        return tls
    }

    // MARK: Requests

    /// An answer read whole.
    public struct Response: Sendable {
        public var status: Int
        public var body: ByteBuffer
        public var text: String { String(buffer: body) }
    }

    /// One request; a non-2xx status becomes a `KubeError` carrying the API's Status message. A
    /// 401 with a token file re-reads the file once and retries (the token may have rotated).
    public func send(_ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, contentType: String? = nil,
                     timeout: TimeAmount? = nil) async throws(KubeError) -> Response {
        let label = "\(method.rawValue) \(path)"
        var response = try await exchange(method, path, body: body, contentType: contentType, timeout: timeout, label: label)
        if response.status == 401, tokens.invalidate() {
            response = try await exchange(method, path, body: body, contentType: contentType, timeout: timeout, label: label)
        }
        guard (200..<300).contains(response.status) else { throw Self.statusError(response.status, body: response.body, request: label) }
        return response
    }

    /// `GET path` parsed as JSON.
    public func getJSON(_ path: String) async throws(KubeError) -> JSONValue {
        try Self.parseJSON(try await send(.GET, path).body, request: "GET \(path)")
    }

    private func exchange(_ method: HTTPMethod, _ path: String, body: [UInt8]?, contentType: String?, timeout: TimeAmount?,
                          label: String) async throws(KubeError) -> Response {
        let request = try makeRequest(method, path, body: body, contentType: contentType)
        do {
            let response = try await http.execute(request, timeout: timeout ?? requestTimeout, logger: logger)
            let bytes = try await response.body.collect(upTo: maxResponseBytes)
            return Response(status: Int(response.status.code), body: bytes)
        } catch let error as NIOTooManyBytesError {
            throw KubeError(.malformed, request: label, message: "the answer is larger than \(maxResponseBytes) bytes (\(error))")
        } catch {
            throw Self.transportError(error, request: label, server: connection.server)
        }
    }

    /// Starts a streaming `GET` (a watch): the body is read by the caller until it ends. The
    /// deadline bounds the whole stream.
    public func stream(_ path: String, deadline: NIODeadline) async throws(KubeError) -> HTTPClientResponse.Body {
        let label = "GET \(path)"
        var attempt = 0
        while true {
            attempt += 1
            let request = try makeRequest(.GET, path, body: nil, contentType: nil)
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, deadline: deadline, logger: logger)
            } catch {
                throw Self.transportError(error, request: label, server: connection.server)
            }
            if response.status == .ok { return response.body }
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 1 << 20)
            } catch {
                throw Self.transportError(error, request: label, server: connection.server)
            }
            if response.status.code == 401, attempt == 1, tokens.invalidate() { continue }
            throw Self.statusError(Int(response.status.code), body: body, request: label)
        }
    }

    private func makeRequest(_ method: HTTPMethod, _ path: String, body: [UInt8]?, contentType: String?) throws(KubeError) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: connection.server + path)
        request.method = method
        request.headers.add(name: "accept", value: "application/json")
        request.headers.add(name: "user-agent", value: "fsm-swift/kube")
        if let token = try tokens.token() { request.headers.add(name: "authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "content-type", value: contentType ?? "application/json")
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        return request
    }

    // MARK: Errors

    /// The API's `Status` (`{"kind":"Status","reason":"Forbidden","message":"..."}`) as a one-line error.
    static func statusError(_ status: Int, body: ByteBuffer, request: String) -> KubeError {
        let text = String(buffer: body)
        if let value = try? JSONValue(parsing: text), value["kind"]?.stringValue == "Status" {
            return KubeError(.status(code: status, reason: value["reason"]?.stringValue ?? ""), request: request,
                             message: oneLine(value["message"]?.stringValue ?? "no message"))
        }
        let shown = text.isEmpty ? "empty body" : oneLine(String(text.prefix(200)))
        return KubeError(.status(code: status, reason: HTTPResponseStatus(statusCode: status).reasonPhrase), request: request, message: shown)
    }

    /// A connection, TLS or deadline failure as one line.
    static func transportError(_ error: any Error, request: String, server: String) -> KubeError {
        if let kube = error as? KubeError { return kube }
        if error is NIOSSLError || error is NIOSSLExtraError || "\(type(of: error))".contains("SSL") {
            return KubeError(.tls, request: request, message: "\(server): \(oneLine("\(error)"))")
        }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .readTimeout, .connectTimeout:
                return KubeError(.unreachable, request: request, message: "\(server): timed out (\(client))")
            default:
                return KubeError(.unreachable, request: request, message: "\(server): \(oneLine("\(client)"))")
            }
        }
        return KubeError(.unreachable, request: request, message: "\(server): \(oneLine("\(error)"))")
    }

    static func parseJSON(_ body: ByteBuffer, request: String) throws(KubeError) -> JSONValue {
        do {
            return try JSONValue(parsing: Array(body.readableBytesView))
        } catch {
            throw KubeError(.malformed, request: request, message: "\(error)")
        }
    }

    static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: \.isNewline).joined(separator: " ")
    }
}
