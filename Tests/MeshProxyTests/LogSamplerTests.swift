import MeshProxy
import Testing

/// Remote logging's sampling: by request id, so each sidecar on a path chooses alike.
@Suite struct LogSamplerTests {
    @Test func allOrNothingAtTheEnds() {
        #expect(LogSampler(fraction: 1).ships(requestID: "a"))
        #expect(!LogSampler(fraction: 0).ships(requestID: "a"))
        #expect(LogSampler(fraction: 0).ships(requestID: nil) == false)
    }

    @Test func aFractionShipsAboutThatShareAndTheSameIDAlike() {
        let sampler = LogSampler(fraction: 0.25)
        let ids = (0..<4000).map { "req-\($0)" }
        let shipped = ids.filter { sampler.ships(requestID: $0) }.count
        #expect((800...1200).contains(shipped), "\(shipped) of 4000")
        #expect(ids.allSatisfy { sampler.ships(requestID: $0) == LogSampler(fraction: 0.25).ships(requestID: $0) })
        // A larger fraction ships a superset: the choice is a threshold on the id's hash.
        #expect(ids.filter { sampler.ships(requestID: $0) }.allSatisfy { LogSampler(fraction: 0.5).ships(requestID: $0) })
    }

    @Test func aRequestWithoutAnIDIsShipped() {
        #expect(LogSampler(fraction: 0.01).ships(requestID: nil))
    }
}
