/// One request as a demo app sees it (read whole; demo bodies are small).
public struct DemoRequest: Sendable, Equatable {
    public var method: String
    /// The path without the query.
    public var path: String
    public var query: String
    public var headers: [(name: String, value: String)]
    public var body: String

    public init(method: String, uri: String, headers: [(name: String, value: String)] = [], body: String = "") {
        self.method = method.uppercased()
        if let mark = uri.firstIndex(of: "?") {
            path = String(uri[..<mark])
            query = String(uri[uri.index(after: mark)...])
        } else {
            path = uri
            query = ""
        }
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func == (lhs: DemoRequest, rhs: DemoRequest) -> Bool {
        lhs.method == rhs.method && lhs.path == rhs.path && lhs.query == rhs.query && lhs.body == rhs.body
            && lhs.headers.map { "\($0.name): \($0.value)" } == rhs.headers.map { "\($0.name): \($0.value)" }
    }
}

/// What a demo app answers; `delayMilliseconds` holds the answer back (bookstore's sell time, httpbin's /delay).
public struct DemoResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: String
    public var delayMilliseconds: Int

    public init(status: Int, headers: [(name: String, value: String)] = [], body: String = "", delayMilliseconds: Int = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.delayMilliseconds = delayMilliseconds
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    public static func text(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> DemoResponse {
        DemoResponse(status: status, headers: [("content-type", "text/plain; charset=utf-8")] + headers, body: body)
    }

    public static func json(_ status: Int, _ body: String, headers: [(name: String, value: String)] = []) -> DemoResponse {
        DemoResponse(status: status, headers: [("content-type", "application/json")] + headers, body: body + "\n")
    }

    public static func == (lhs: DemoResponse, rhs: DemoResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body && lhs.delayMilliseconds == rhs.delayMilliseconds
            && lhs.headers.map { "\($0.name): \($0.value)" } == rhs.headers.map { "\($0.name): \($0.value)" }
    }
}

/// Minimal JSON text helpers (the apps render a few flat objects).
enum DemoJSON {
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `{"a":1,"b":"x"}` from already-rendered values, in the given order.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(string($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }
}
