import Foundation

/// The bookwarehouse (demo `bookwarehouse/bookwarehouse.go`), with its total kept in memory instead
/// of MySQL: `POST /restock-books` (or `POST /`) adds the JSON integer body and answers `{"restocked":n}`.
public struct BookwarehouseState: Sendable, Equatable {
    public let identity: String
    public private(set) var totalRestocked = 0
    public private(set) var restocks = 0

    public init(identity: String = "bookwarehouse") {
        self.identity = identity
    }

    public mutating func handle(_ request: DemoRequest) -> DemoResponse {
        switch (request.method, request.path) {
        case ("POST", "/restock-books"), ("POST", "/"):
            guard let count = Int(request.body.trimmingCharacters(in: .whitespacesAndNewlines)), count >= 0 else {
                return .text(400, "expected a JSON integer body\n")
            }
            totalRestocked += count
            restocks += 1
            return .json(200, DemoJSON.object([("restocked", String(count))]), headers: [("Identity", identity)])
        case ("GET", "/raw"):
            return .json(200, DemoJSON.object([("restocked", String(totalRestocked)), ("restocks", String(restocks))]))
        case ("GET", "/"):
            return .text(200, "🏭 \(identity)\nBooks restocked: \(totalRestocked) in \(restocks) restocks\n")
        default:
            return .text(404, "not found\n")
        }
    }
}
