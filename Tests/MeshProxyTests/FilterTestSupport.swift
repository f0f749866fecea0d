import MeshModel
import MeshTesting
@testable import MeshProxy

/// Runs filters and chains by themselves, with fresh counters and the buckets of a compiled config.
struct FilterBench {
    var listener: CompiledTrafficMatch
    var counters = CounterTable()
    var buckets: [TokenBucket] = []
    var now = MeshInstant.zero

    /// A listener with no routes (filters that need none).
    init(port: Int = 8000) {
        listener = CompiledTrafficMatch(port: port, appProtocol: .http, isHTTP: true)
    }

    /// The first inbound port's (or outbound traffic match's) compiled tables of `config`.
    init(inboundOf config: ProxyConfig) {
        let sidecar = Sidecar(config: config)
        listener = sidecar.compiled.inbound[0]
        buckets = sidecar.buckets
    }

    init(outboundOf config: ProxyConfig) {
        let sidecar = Sidecar(config: config)
        listener = sidecar.compiled.outbound[0]
        buckets = sidecar.buckets
    }

    mutating func decode(_ filter: HTTPFilter, _ request: inout FilterRequest) -> FilterOutcome {
        var random = SeededGenerator(seed: 7)
        return filter.decode(&request, FilterInput(listener: listener, now: now), counters: &counters, buckets: &buckets, random: &random)
    }

    mutating func decode(_ chain: HTTPFilterChain, _ request: inout FilterRequest) -> ChainDecision {
        var random = SeededGenerator(seed: 7)
        return chain.decode(&request, FilterInput(listener: listener, now: now), counters: &counters, buckets: &buckets, random: &random)
    }

    func count(_ counter: Int) -> UInt64 { counters[counter] }
}

extension FilterRequest {
    static func get(_ path: String = "/get", host: String = "foo.example.com", headers: [HTTPHeader] = [], port: Int = 8000) -> FilterRequest {
        FilterRequest(head: HTTPRequestHead(method: "GET", path: path, authority: host, headers: headers), listenerPort: port)
    }
}
