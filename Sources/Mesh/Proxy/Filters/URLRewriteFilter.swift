import MeshModel

/// The Gateway API's URLRewrite: the backend sees another Host and/or path; the query is kept.
struct URLRewriteFilter: HTTPFilterHooks {
    var hostname: String?
    var path: PathModifier?

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        if let hostname, hostname != request.head.authority {
            request.head.authority = hostname
            request.headModified = true
        }
        if let path {
            let (current, query) = PathModifier.split(request.head.path)
            let rewritten = path.apply(to: current, matchedPrefix: request.matchedPrefix) + query
            if rewritten != request.head.path {
                request.head.path = rewritten
                request.headModified = true
            }
        }
        return .proceed
    }
}
