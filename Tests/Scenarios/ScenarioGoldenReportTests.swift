import SimCore
import Testing

/// Pins the JSON report of every shipped scenario (its default seed) to a hash, so that a change
/// to the engine, the controller or the simulator that alters any report byte shows up here. A
/// change meant to alter reports updates the hash it names, and says why in its commit.
@Suite struct ScenarioGoldenReportTests {
    /// File name → FNV-1a 64 of the UTF-8 JSON report and its length in bytes.
    static let pinned: [String: (hash: String, bytes: Int)] = [
        "bookstore-permissive.yaml": ("3e3b6eabaeadfc00", 2771),
        "access-control.yaml": ("366386a49f284cb5", 1853),
        "bookstore-smi.yaml": ("f5335e39d730c7b8", 4608),
        "canary.yaml": ("50151de9480c4072", 3205),
        "circuit-breaking.yaml": ("ecdb3e1315975193", 1588),
        "echo.yaml": ("f52cfa6619222300", 1520),
        "fault-kill-pod.yaml": ("daf4f75edc97c241", 3296),
        "fault-sidecar-crash-single.yaml": ("4b02d2eacb87618d", 1541),
        "fault-sidecar-crash.yaml": ("a678258e48d4d126", 2773),
        "ratelimit-http.yaml": ("93e389102af4947d", 2703),
        "ratelimit-tcp.yaml": ("f9f02f760f1c1ff6", 1818),
        "retry.yaml": ("f138ae436248a5ce", 2713),
        "smi-tcp.yaml": ("60c90f34ccd8accb", 1292),
        "tcp-split.yaml": ("46d47230a6b56f8a", 1280),
        "tcp-server-first.yaml": ("400f42e51588ba4c", 1727),
        "tcp-server-first-smi.yaml": ("a9897662d285aff4", 1306),
        "tracing.yaml": ("0c69fcb0b9f286b1", 4336),
        "gateway-health-check.yaml": ("89b24004bd5c6c22", 2056),
        "gateway-tcp-routing.yaml": ("0abf88a64df18e4f", 1932),
        "gateway-quickstart.yaml": ("2d4e5f2b6d0db060", 1464),
        "gateway-retry.yaml": ("f304c99ae16a6d50", 1316),
        "gateway-access-control.yaml": ("6020db8efabcd733", 2599),
        "gateway-fault-injection.yaml": ("1f9c6a16f124084e", 2952),
        "gateway-http-routing.yaml": ("8c24e0ac99d8c548", 2587),
        "gateway-load-balancer.yaml": ("019d8896104cb4d9", 1969),
        "gateway-mirror.yaml": ("a2a1eec61bff6bec", 1834),
        "gateway-rate-limit.yaml": ("9035a1cc655e54b4", 2788),
        "gateway-rate-limit-port.yaml": ("d5a6b92470cdc1fd", 1978),
        "gateway-redirect.yaml": ("02757a9f4e38508c", 3075),
        "gateway-request-headers.yaml": ("b31c838ddb4d6fbf", 2716),
        "gateway-response-headers.yaml": ("34d6d0005415c0c5", 2834),
        "gateway-session-sticky.yaml": ("f2fdebe20707aaa4", 2144),
        "gateway-url-rewrite.yaml": ("4077faaa460cdae1", 2407),
        "egress-passthrough.yaml": ("7f59e3e2e97c1bba", 2305),
        "egress-policy.yaml": ("2f63cb387347b2a6", 3635),
        "ingress-backend.yaml": ("8ad7e715c98637df", 2293),
        "gateway-grpc-routing.yaml": ("33feaf95ddbc7143", 2171),
        "gateway-mtls.yaml": ("f06ed17eeedc64c4", 2643),
        "gateway-tls-passthrough.yaml": ("b78d5f60782df752", 1792),
        "gateway-tls-termination.yaml": ("72c00708d7e7d3bd", 2901),
        "gateway-udp-routing.yaml": ("4d783a517b4057c2", 1326),
        "gateway-upstream-tls.yaml": ("848b5b1c173bcab3", 1626),
        "ingress-basics.yaml": ("341b9bdd60d07bdf", 2561),
        "egress-gateway.yaml": ("61a19d8877cc78f6", 3805),
        "egress-https-sni.yaml": ("23b5a262460651da", 2205),
        "egress-ip-exclusion.yaml": ("3d7aa160856665b5", 2444),
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
