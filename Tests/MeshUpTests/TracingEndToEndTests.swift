import Foundation
import MeshShell
import MeshTesting
import MeshUp
import Testing
import ZipkinCollectorDouble

/// `fsm up` on a copy of deploy/samples/bookstore with MeshConfig `observability.tracing` pointing
/// at a Zipkin collector double: every sidecar sends schema-valid spans, and each purchase is one
/// trace, bookbuyer → bookstore → bookwarehouse (the demo bookstore forwards the B3 headers on its
/// restock call, as the guides ask apps to). Addresses: a test address block: controller .1:6060,
/// the collector on .2, pods from .10, services from .100.
@Suite(.timeLimit(.minutes(5)))
struct TracingEndToEndTests {
    @Test func eachPurchaseIsOneTraceAcrossTheThreeServices() async throws {
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        let fsm = try #require(UpEndToEndTests.fsmPath(), "the fsm executable is not in the build directory")
        let collector = ZipkinCollectorDouble()
        let port = try await collector.start(host: block.address(2))
        let (directory, manifests, stateDir) = try UpEndToEndTests.workspace("mesh-up-tracing")
        let meshFile = (manifests as NSString).appendingPathComponent("00-mesh.yaml")
        let mesh = try String(contentsOfFile: meshFile, encoding: .utf8)
        try mesh.replacingOccurrences(of: "spec:\n", with: """
            spec:
              observability:
                tracing: { enable: true, address: \(block.address(2)), port: \(port), endpoint: /api/v2/spans }

            """).write(toFile: meshFile, atomically: true, encoding: .utf8)
        let up = ["up", "--manifests", manifests, "--state-dir", stateDir, "--controller-listen", "\(block.address(1)):6060",
                  "--first-pod-ip", block.address(10), "--first-service-ip", block.address(100), "--timeout", "180"]
        do {
            let started = try await UpEndToEndTests.fsm(fsm, up, in: directory)
            try #require(started.status == 0, "fsm up failed: \(started.output)")
            let state = try #require(try UpState.load(from: stateDir))
            let buyer = try #require(state.pods.first { $0.app == "bookbuyer" }?.appURL)
            #expect(await UpEndToEndTests.waitFor(buyer, "booksBoughtV1", within: 120) { $0 >= 3 } ?? 0 >= 3)
            // The sidecars send every second; wait for a whole purchase to reach the collector.
            let deadline = ContinuousClock.now + .seconds(20)
            while ContinuousClock.now < deadline, Self.wholeTraces(collector.spans).isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        } catch {
            Issue.record(error)
        }
        _ = try? await UpEndToEndTests.fsm(fsm, ["down", "--state-dir", stateDir], in: directory)
        await collector.stop()
        try? FileManager.default.removeItem(atPath: directory)

        let spans = collector.spans
        #expect(collector.schemaProblems.isEmpty, "\(collector.schemaProblems.prefix(5))")
        let whole = Self.wholeTraces(spans)
        #expect(!whole.isEmpty, "no purchase trace with all four spans among \(spans.count) spans: \(Set(spans.map { "\($0.kind ?? "?") \($0.localService ?? "?") \($0.name ?? "")" }))")
        // One trace per purchase: bookbuyer's purchase spans never share a trace id.
        let purchases = spans.filter { $0.kind == "CLIENT" && $0.localService == "bookbuyer" && $0.name == "GET /buy-a-book/new" }
        #expect(Set(purchases.map(\.traceId)).count == purchases.count)
        // Within a whole trace, the restock is a child of the purchase's span.
        if let trace = whole.first {
            let purchase = trace.first { $0.kind == "CLIENT" && $0.localService == "bookbuyer" }
            let restock = trace.first { $0.kind == "CLIENT" && $0.localService == "bookstore" }
            #expect(purchase != nil && restock?.parentId == purchase?.id)
            #expect(trace.contains { $0.kind == "SERVER" && $0.shared && $0.id == purchase?.id })
        }
    }

    /// Traces holding bookbuyer's purchase (client), bookstore's server span, bookstore's restock
    /// (client) and bookwarehouse's server span.
    static func wholeTraces(_ spans: [ZipkinCollectorDouble.Span]) -> [[ZipkinCollectorDouble.Span]] {
        Array(Dictionary(grouping: spans, by: \.traceId).values).filter(isWhole)
    }

    static func isWhole(_ trace: [ZipkinCollectorDouble.Span]) -> Bool {
        func has(_ kind: String, _ service: String, _ name: String? = nil) -> Bool {
            trace.contains { span in
                span.kind == kind && (span.localService ?? "").hasPrefix(service) && (name == nil || span.name == name)
            }
        }
        return has("CLIENT", "bookbuyer", "GET /buy-a-book/new") && has("SERVER", "bookstore")
            && has("CLIENT", "bookstore", "POST /restock-books") && has("SERVER", "bookwarehouse")
    }
}
