import SimCore
import Testing

/// Pins the JSON report of every shipped scenario (its default seed) to a hash, so that a change
/// to the engine, the controller or the simulator that alters any report byte shows up here. A
/// change meant to alter reports updates the hash it names, and says why in its commit.
@Suite struct ScenarioGoldenReportTests {
    /// File name → FNV-1a 64 of the UTF-8 JSON report and its length in bytes.
    static let pinned: [String: (hash: String, bytes: Int)] = [
        "bookstore-permissive.yaml": ("4e05628c941717f2", 2690),
        "bookstore-smi.yaml": ("4a9fd141cde88a2c", 4354),
        "canary.yaml": ("15c4bdaffaabca46", 3124),
        "circuit-breaking.yaml": ("2526f92c2675a5ab", 1510),
        "echo.yaml": ("9ea88ba0626d423c", 1493),
        "fault-kill-pod.yaml": ("5ecb12d88a2032e5", 3188),
        "fault-sidecar-crash-single.yaml": ("5f813581f1dacb91", 1491),
        "fault-sidecar-crash.yaml": ("0a8e4bbe70e3460a", 2692),
        "ratelimit-http.yaml": ("680e12b46f0c34b1", 2549),
        "ratelimit-tcp.yaml": ("2a5e2788d04ad5ff", 1714),
        "retry.yaml": ("136bd4071d6e7d3e", 2608),
        "smi-tcp.yaml": ("5789e979caa3a069", 1237),
        "tcp-split.yaml": ("28ee6f4d4dd23dc0", 1253),
    ]

    @Test(arguments: scenarioFiles)
    func reportIsByteIdenticalToItsPin(_ file: String) throws {
        let json = run(try load(file)).jsonText()
        let observed = (hash: ScenarioGoldenReportTests.fnv1a64(json), bytes: json.utf8.count)
        guard let pinned = ScenarioGoldenReportTests.pinned[file] else {
            Issue.record("\(file) has no pinned report: add \"\(file)\": (\"\(observed.hash)\", \(observed.bytes)) to ScenarioGoldenReportTests.pinned")
            return
        }
        #expect(observed.hash == pinned.hash && observed.bytes == pinned.bytes,
                "\(file): the JSON report changed (\(observed.bytes) bytes, hash \(observed.hash); pinned \(pinned.bytes) bytes, \(pinned.hash))")
    }

    @Test func everyPinNamesAShippedScenario() {
        let stale = Set(ScenarioGoldenReportTests.pinned.keys).subtracting(scenarioFiles)
        #expect(stale.isEmpty, "pins for scenarios that are not in scenarios/: \(stale.sorted())")
    }

    static func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
