/// What bookbuyer and bookthief count (demo `common/books.go`): a book is counted only for a 200
/// answer to `/buy-a-book/new` whose `Identity` header starts with `bookstore-v1` or `bookstore-v2`.
/// Every other answer is counted by its status (0: no HTTP answer, e.g. the sidecar closed the
/// connection because no TrafficTarget allows the source).
public struct BookClientCounters: Sendable, Equatable {
    public enum Role: String, Sendable {
        case buyer, thief

        /// The JSON/UI noun: booksBought / booksStolen.
        var noun: String { self == .buyer ? "booksBought" : "booksStolen" }
        var title: String { self == .buyer ? "📖 Bookbuyer" : "🦝 Bookthief" }
        var verb: String { self == .buyer ? "bought" : "stolen" }
    }

    public static let buyPath = "/buy-a-book/new"
    public static let booksBoughtPath = "/books-bought"

    public let role: Role
    public private(set) var books = 0
    public private(set) var booksV1 = 0
    public private(set) var booksV2 = 0
    public private(set) var requests = 0
    /// Answers other than 200, by status (0 = no answer).
    public private(set) var failuresByStatus: [Int: Int] = [:]

    public init(role: Role) {
        self.role = role
    }

    public var failures: Int { failuresByStatus.values.reduce(0, +) }
    /// Requests the mesh refused: 403 (no allowed route) or no answer (no route at all).
    public var refused: Int { (failuresByStatus[403] ?? 0) + (failuresByStatus[0] ?? 0) }

    public mutating func record(path: String, status: Int, identity: String?) {
        requests += 1
        guard status == 200 else {
            failuresByStatus[status, default: 0] += 1
            return
        }
        guard path == Self.buyPath, let identity else { return }
        if identity.hasPrefix("bookstore-v1") {
            booksV1 += 1
            books += 1
        } else if identity.hasPrefix("bookstore-v2") {
            booksV2 += 1
            books += 1
        }
    }

    public mutating func reset() {
        self = BookClientCounters(role: role)
    }

    /// `GET /raw`: `{"booksBought":N,"booksBoughtV1":a,"booksBoughtV2":b,...}` (bookthief: booksStolen...).
    public var rawJSON: String {
        let statuses = DemoJSON.object(failuresByStatus.keys.sorted().map { (String($0), String(failuresByStatus[$0]!)) })
        return DemoJSON.object([
            (role.noun, String(books)), (role.noun + "V1", String(booksV1)), (role.noun + "V2", String(booksV2)),
            ("requests", String(requests)), ("failures", String(failures)), ("refused", String(refused)),
            ("failuresByStatus", statuses),
        ])
    }

    /// `GET /`: the demo UI's numbers as text, for curl.
    public var page: String {
        var lines = [
            role.title,
            "Total books \(role.verb): \(books)",
            "  from bookstore V1: \(booksV1)",
            "  from bookstore V2: \(booksV2)",
            "Requests: \(requests), failed: \(failures), refused by the mesh: \(refused)",
        ]
        for status in failuresByStatus.keys.sorted() {
            lines.append("  status \(status == 0 ? "0 (no answer)" : String(status)): \(failuresByStatus[status]!)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The client app's own HTTP endpoints (`/`, `/raw`, `/reset`).
    public mutating func handle(_ request: DemoRequest) -> DemoResponse {
        guard request.method == "GET" else { return .text(405, "only GET\n") }
        switch request.path {
        case "/": return .text(200, page)
        case "/raw": return .json(200, rawJSON)
        case "/reset":
            reset()
            return .text(200, "reset\n")
        default: return .text(404, "not found\n")
        }
    }

    /// Headers of one loop request (demo `books.go`: the header map is shared, so bookthief sends `client-app: bookbuyer` too).
    public static func headers(for path: String) -> [(String, String)] {
        if path == booksBoughtPath { return [("client-app", "bookbuyer"), ("user-agent", "Go-http-client/1.1")] }
        return [("user-agent", "Go-http-client/1.1")]
    }
}
