import MeshModel
import Testing

/// Durations for people (the examples first): three significant digits in the largest
/// unit below 1000, then minutes and hours.
@Suite struct ReadableDurationTests {
    @Test(arguments: [
        (9_703_748.782, "9.70s"), (45_000.9 * 1000, "45.0s"), (13_587.100 * 1000, "13.6s"), (2_900, "2.90ms"),
        (2_800_000, "2.80s"), (250, "250us"), (0.4, "400ns"), (999.96, "1.00ms"), (59_996_000, "1m 00s"),
        (65_000_000, "1m 05s"), (3_725_000_000, "1h 02m"), (0, "0s"), (-1500, "-1.50ms"),
    ] as [(Double, String)])
    func microseconds(_ value: Double, _ text: String) {
        #expect(ReadableDuration.text(microseconds: value) == text)
    }

    @Test func meshDurationReadableAndExact() {
        let duration = MeshDuration(nanoseconds: 45_000_900_000)
        #expect(duration.readable == "45.0s")
        #expect(duration.description == "45000.9ms")
    }

    @Test func notANumber() {
        #expect(ReadableDuration.text(milliseconds: .nan) == "n/a")
        #expect(ReadableDuration.text(milliseconds: .infinity) == "inf")
    }
}
