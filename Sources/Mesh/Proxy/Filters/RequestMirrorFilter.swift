import MeshModel

/// The Gateway API's RequestMirror: a copy of the request (as the filters before it left it) goes
/// to another backend, fire-and-forget; its answer is ignored and its failure changes nothing for
/// the client. The request itself goes on.
struct RequestMirrorFilter: HTTPFilterHooks {
    var cluster: String

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        request.mirrors.append(MirrorRequest(cluster: cluster, head: request.head))
        return .proceed
    }
}
