import MeshModel

/// FSM Ingress's `rewrite-target-from` / `rewrite-target-to` annotations: the first match of the
/// regex in the path (without the query) is replaced (`^/httpbin/?` → `/`); the query is kept.
/// `@unchecked Sendable`: as `PatternMatcher`, the regex is compiled once and only read.
struct PathRegexRewriteFilter: HTTPFilterHooks, @unchecked Sendable {
    var regex: Regex<AnyRegexOutput>
    var replacement: String

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        let (path, query) = PathModifier.split(request.head.path)
        guard let match = try? regex.firstMatch(in: path) else { return .proceed }
        var rewritten = String(path[..<match.range.lowerBound]) + replacement + String(path[match.range.upperBound...])
        if !rewritten.hasPrefix("/") { rewritten = "/" + rewritten }
        request.head.path = rewritten + query
        request.headModified = true
        return .proceed
    }
}

extension PathRegexRewriteFilter {
    init(compiling pattern: String, replacement: String, _ context: String) throws(ConfigRejection) {
        do {
            regex = try Regex(pattern)
        } catch {
            throw ConfigRejection(description: "\(context): invalid regex \"\(pattern)\": \(error)")
        }
        self.replacement = replacement
    }
}
