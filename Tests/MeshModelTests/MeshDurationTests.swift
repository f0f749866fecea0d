import MeshModel
import Testing

@Suite struct MeshDurationTests {
    @Test(arguments: [
        ("250us", Int64(250_000)), ("250µs", 250_000), ("250μs", 250_000), ("1.5ms", 1_500_000), ("3s", 3_000_000_000),
        ("2m", 120_000_000_000), ("1h", 3_600_000_000_000), ("1m30s", 90_000_000_000), ("1h2m3s4ms", 3_723_004_000_000),
        ("0", 0), ("0s", 0), (" 5s ", 5_000_000_000), (".5s", 500_000_000), ("10ns", 10),
    ])
    func parses(text: String, nanoseconds: Int64) {
        #expect(MeshDuration(parsing: text)?.nanoseconds == nanoseconds)
    }

    @Test(arguments: ["", "5", "s", "1.2.3s", "-1s", "1 s", "5sec", "1d", "abc", "٣s", "99999999999h", "1e3s"])
    func rejects(text: String) {
        #expect(MeshDuration(parsing: text) == nil)
    }

    @Test(arguments: [
        (Int64(0), "0s"), (250_000, "250us"), (1_500_000, "1.5ms"), (30_000_000_000, "30s"), (90_000_000_000, "90s"),
        (120_000_000_000, "2m"), (7_200_000_000_000, "2h"), (25_000_000, "25ms"), (1_500_000_000, "1.5s"),
        (1_250, "1.25us"), (999, "999ns"), (1_000_500, "1000.5us"), (100_000_000, "100ms"), (-5_000_000_000, "-5s"),
        (Int64.min, "-9223372036854775.808us"),
    ])
    func prints(nanoseconds: Int64, text: String) {
        #expect(MeshDuration(nanoseconds: nanoseconds).description == text)
    }

    @Test(arguments: ["250us", "1.5ms", "30s", "2m", "1h", "1.25us", "999ns", "2.005s"])
    func printedFormParsesBack(text: String) throws {
        let duration = try #require(MeshDuration(parsing: text))
        #expect(duration.description == text)
        #expect(MeshDuration(parsing: duration.description) == duration)
    }

    @Test func arithmeticAndConversions() {
        #expect(MeshDuration.seconds(1) + .milliseconds(500) == .milliseconds(1500))
        #expect(MeshDuration.seconds(1) - .milliseconds(250) == .microseconds(750_000))
        #expect(MeshDuration.milliseconds(25) * 4 == .milliseconds(100))
        #expect(MeshDuration.minutes(1) == .seconds(60))
        #expect(MeshDuration.hours(1) == .minutes(60))
        #expect(MeshDuration.milliseconds(1500).seconds == 1.5)
        #expect(MeshDuration.microseconds(250).milliseconds == 0.25)
        #expect(MeshDuration.milliseconds(1) < .seconds(1))
    }
}
