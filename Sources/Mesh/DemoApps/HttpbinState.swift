/// An httpbin-like echo app: `/status/N` answers N, `/delay/N` answers after N seconds (at most 10),
/// anything else echoes the method, path, query, headers and body as JSON. Every answer carries the
/// app's identity in `Identity` (so a split or a failover is visible).
public struct HttpbinState: Sendable, Equatable {
    public let identity: String
    public private(set) var requests = 0
    public static let maxDelaySeconds = 10

    public init(identity: String) {
        self.identity = identity
    }

    public mutating func handle(_ request: DemoRequest) -> DemoResponse {
        requests += 1
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true)
        let headers: [(name: String, value: String)] = [("Identity", identity)]
        if parts.count == 2, parts[0] == "status" {
            guard let code = Int(parts[1]), (200...599).contains(code) else {
                return .text(400, "status: expected a code between 200 and 599, found \(parts[1])\n", headers: headers)
            }
            return .text(code, "", headers: headers)
        }
        var response = DemoResponse.json(200, echo(request), headers: headers)
        if parts.count == 2, parts[0] == "delay" {
            guard let seconds = Double(parts[1]), seconds >= 0, seconds.isFinite else {
                return .text(400, "delay: expected a number of seconds, found \(parts[1])\n", headers: headers)
            }
            response.delayMilliseconds = Int(min(seconds, Double(Self.maxDelaySeconds)) * 1000)
        }
        return response
    }

    func echo(_ request: DemoRequest) -> String {
        DemoJSON.object([
            ("method", DemoJSON.string(request.method)),
            ("path", DemoJSON.string(request.path)),
            ("query", DemoJSON.string(request.query)),
            ("headers", DemoJSON.object(request.headers.map { ($0.name.lowercased(), DemoJSON.string($0.value)) })),
            ("body", DemoJSON.string(request.body)),
            ("identity", DemoJSON.string(identity)),
        ])
    }
}
