import MeshModel

/// FSM Gateway's port-level RateLimitPolicy (`ports[].bps`, or the policy's default `bps`; F2-023):
/// a request's body passes the port at most `bps` bytes a second. The port has one bucket of
/// bytes, a second's worth deep and full at first, shared by every connection on the port; a
/// request whose `content-length` the bucket cannot cover is held (an engine timer) until the
/// debt is paid, then routed — so the upstream sees it when its last byte would have crossed
/// at that rate (docs/DECISIONS.md 179). A body without a stated length (chunked) is not paced.
struct GatewayUploadPacingFilter: HTTPFilterHooks {
    var bucket: Int

    static let pacedCounter = "gateway.upload_paced"

    func decode(_ request: inout FilterRequest, _ input: FilterInput, counters: inout CounterTable, buckets: inout [TokenBucket],
                random: inout some RandomNumberGenerator) -> FilterOutcome {
        guard !request.uploadPaced, let length = request.head.header("content-length").flatMap(Int.init), length > 0 else { return .proceed }
        request.uploadPaced = true
        let wait = buckets[bucket].takeOwing(length, now: input.now)
        guard wait > .zero else { return .proceed }
        counters[counters.index(GatewayUploadPacingFilter.pacedCounter)] += 1
        return .hold(wait)
    }

    /// A second's worth of bytes deep, refilled at `bytesPerSecond`.
    static func bucket(bytesPerSecond: Int) -> TokenBucket {
        TokenBucket(capacity: bytesPerSecond, refill: bytesPerSecond, per: .seconds(1))
    }
}
