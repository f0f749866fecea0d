import Foundation

/// The bookstore (demo `bookstore/bookstore.go`): sells books on `GET /buy-a-book/new`, shows its
/// identity (`IDENTITY`, e.g. `bookstore-v1`) in the `Identity` header of every answer.
public struct BookstoreState: Sendable, Equatable {
    public let identity: String
    public private(set) var booksSold = 0

    /// What the shell does besides answering.
    public struct Reply: Sendable, Equatable {
        public var response: DemoResponse
        /// Restock one book from bookwarehouse (fire and forget; its result is only logged).
        public var restock: Bool
    }

    /// Headers echoed from the request (tracing), as the demo does.
    static let echoedHeaders = ["x-ot-span-context", "x-request-id", "uber-trace-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"]
    /// What an app forwards so that its own calls join the request's trace (guides 4.2: `x-request-id`
    /// and the B3 headers), as the demo's bookstore does on its restock call.
    static let propagatedHeaders = ["x-request-id", "x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags"]

    public static func traceHeaders(of request: DemoRequest) -> [(String, String)] {
        propagatedHeaders.compactMap { name in request.header(name).map { (name, $0) } }
    }

    public init(identity: String) {
        self.identity = identity
    }

    /// `sellDelayMilliseconds`: how long the sale holds the answer (the demo sleeps 150–749 ms); the shell picks it.
    public mutating func handle(_ request: DemoRequest, sellDelayMilliseconds: Int = 0) -> Reply {
        switch (request.method, request.path) {
        case ("GET", "/buy-a-book/new"):
            booksSold += 1
            var response = DemoResponse.text(200, page, headers: identityHeaders(request))
            response.delayMilliseconds = sellDelayMilliseconds
            return Reply(response: response, restock: true)
        case ("GET", "/books-bought"):
            return Reply(response: .text(200, page, headers: identityHeaders(request)), restock: false)
        case ("POST", "/books-bought"):
            guard let value = Int(request.body.trimmingCharacters(in: .whitespacesAndNewlines)), value >= 0 else {
                return Reply(response: .text(400, "expected a JSON integer\n"), restock: false)
            }
            booksSold = value
            return Reply(response: .text(200, page, headers: identityHeaders(request)), restock: false)
        case ("GET", "/"):
            return Reply(response: .text(200, page, headers: identityHeaders(request)), restock: false)
        case ("GET", "/reset"):
            booksSold = 0
            return Reply(response: .text(200, page, headers: identityHeaders(request)), restock: false)
        case ("GET", "/liveness"), ("GET", "/readiness"), ("GET", "/startup"):
            return Reply(response: .text(200, "ok\n"), restock: false)
        case ("GET", "/raw"):
            return Reply(response: .json(200, DemoJSON.object([("booksSold", String(booksSold)), ("identity", DemoJSON.string(identity))])), restock: false)
        default:
            return Reply(response: .text(404, "not found\n"), restock: false)
        }
    }

    private func identityHeaders(_ request: DemoRequest) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = [("Booksbought", String(booksSold)), ("Identity", identity)]
        for name in Self.echoedHeaders { if let value = request.header(name) { headers.append((name, value)) } }
        return headers
    }

    var page: String { "📚 \(identity)\nBooks sold: \(booksSold)\n" }
}
