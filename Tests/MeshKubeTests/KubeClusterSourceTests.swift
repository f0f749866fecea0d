import Foundation
import Logging
import MeshControl
import MeshControlPlane
import MeshKube
import MeshKubeTesting
import MeshModel
import MeshTesting
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// Informers and the cluster source against the API-server double speaking the real protocol.
/// Addresses: 127.93.<1..9>.1.
@Suite(.timeLimit(.minutes(2)))
struct KubeClusterSourceTests {
    /// Starts a source over the double; `body` gets it and a counter of its wake-ups.
    static func withSource(_ double: KubeAPIDouble, _ client: KubeClient, logger: Logger = quietLogger(),
                           _ body: (KubeClusterSource, NIOLockedValueBox<Int>) async throws -> Void) async throws {
        let source = KubeClusterSource()
        let wakes = NIOLockedValueBox(0)
        source.onChanges { wakes.withLockedValue { $0 += 1 } }
        source.start(client: client, settings: fastInformers, logger: logger, random: { SeededGenerator(seed: 5) })
        do {
            try await body(source, wakes)
        } catch {
            Issue.record(error)
        }
        await source.stop()
    }

    static func pods(_ changes: [ResourceChange]) -> [String: String] {
        var result: [String: String] = [:]
        for case .upsert(.pod(let pod)) in changes { result["\(pod.metadata.namespace)/\(pod.metadata.name)"] = pod.podIP ?? "" }
        return result
    }

    /// Polls until `condition` holds for the changes gathered so far (they accumulate across polls).
    static func gather(_ source: KubeClusterSource, until condition: ([ResourceChange]) -> Bool) async -> [ResourceChange] {
        var gathered: [ResourceChange] = []
        _ = await eventually {
            gathered += source.poll().changes
            return condition(gathered)
        }
        return gathered
    }

    @Test func listsTheMeshAndIgnoresWhatIsOutsideIt() async throws {
        try await withDouble(suite: 1) { double, client in
            try await double.load(list: bookstoreFixture())
            try await Self.withSource(double, client) { source, wakes in
                #expect(await eventually { source.isSynced })
                let changes = await Self.gather(source) { Self.pods($0).count == 5 }
                #expect(Self.pods(changes) == [
                    "bookbuyer/bookbuyer-0": "127.1.0.10", "bookthief/bookthief-0": "127.1.0.11", "bookstore/bookstore-0": "127.1.0.12",
                    "bookstore/bookstore-v2-0": "127.1.0.13", "bookwarehouse/bookwarehouse-0": "127.1.0.14",
                ])
                let keys = Set(changes.compactMap { if case .upsert(let r) = $0 { r.key } else { nil } })
                #expect(keys.contains(ResourceKey(kind: .meshConfig, namespace: "fsm-system", name: "fsm-mesh-config")))
                #expect(keys.contains(ResourceKey(kind: .trafficSplit, namespace: "bookstore", name: "bookstore-split")))
                #expect(!keys.contains { ["default", "kube-system", "fsm-system"].contains($0.namespace) && $0.kind != .meshConfig })
                #expect(!keys.contains { $0.kind == .namespace && ["default", "kube-system", "fsm-system"].contains($0.name) })
                // Namespaces come before what is in them.
                let order = changes.compactMap { if case .upsert(let r) = $0 { r.kind } else { nil } }
                #expect(order.firstIndex(of: .namespace)! < order.firstIndex(of: .pod)!)
                #expect(wakes.withLockedValue { $0 } > 0)
                #expect(source.problems.isEmpty)
                // Lists came in pages of 3.
                let pageRequests = await double.requests().filter { $0.verb == .list && $0.query["continue"] != nil }
                #expect(!pageRequests.isEmpty)
            }
        }
    }

    @Test func aWatchEventReachesThePollAndWakesTheController() async throws {
        try await withDouble(suite: 2) { double, client in
            try await double.load(list: bookstoreFixture())
            try await Self.withSource(double, client) { source, wakes in
                _ = await Self.gather(source) { Self.pods($0).count == 5 }
                #expect(await eventually { await double.openWatches(.pods) == 1 })
                let before = wakes.withLockedValue { $0 }
                await double.put(.pods, [apiPod("bookstore-1", namespace: "bookstore", ip: "127.1.0.15", labels: ["app": "bookstore", "version": "v1"])])
                let changes = await Self.gather(source) { Self.pods($0)["bookstore/bookstore-1"] != nil }
                #expect(Self.pods(changes) == ["bookstore/bookstore-1": "127.1.0.15"])
                #expect(wakes.withLockedValue { $0 } > before)
                _ = await double.remove(.pods, namespace: "bookstore", name: "bookstore-1")
                let deleted = await Self.gather(source) { $0.contains(.delete(ResourceKey(kind: .pod, namespace: "bookstore", name: "bookstore-1"))) }
                #expect(deleted.contains(.delete(ResourceKey(kind: .pod, namespace: "bookstore", name: "bookstore-1"))))
            }
        }
    }

    @Test func aBookmarkAdvancesTheVersionTheNextWatchStartsFrom() async throws {
        var settings = KubeAPIDouble.Settings()
        settings.bookmarkInterval = .milliseconds(100)
        try await withDouble(suite: 3, settings: settings) { double, client in
            try await double.load(list: bookstoreFixture())
            try await Self.withSource(double, client) { source, _ in
                #expect(await eventually {
                    let watches = await double.openWatches(.pods)
                    return source.isSynced && watches == 1
                })
                let listed = await double.requests().first { $0.verb == .watch && $0.type == .pods }?.query["resourceVersion"]
                // Changes the pod watch does not see move the store's version on; a bookmark carries it.
                await double.put(.configMaps, [.object([("apiVersion", .string("v1")), ("kind", .string("ConfigMap")),
                                                        ("metadata", .object([("name", .string("x")), ("namespace", .string("default"))]))])])
                let revision = await double.revision()
                try await Task.sleep(for: .milliseconds(400))
                await double.dropWatches()
                #expect(await eventually { await double.openWatches(.pods) == 1 })
                let watches = await double.requests().filter { $0.verb == .watch && $0.type == .pods }
                #expect(watches.count >= 2)
                #expect(watches.first?.query["allowWatchBookmarks"] == "true")
                #expect(listed != String(revision))
                #expect(watches.last?.query["resourceVersion"] == String(revision))
            }
        }
    }

    @Test func gone410RelistsAndTheDifferenceArrives() async throws {
        try await withDouble(suite: 4) { double, client in
            try await double.load(list: bookstoreFixture())
            try await Self.withSource(double, client) { source, _ in
                _ = await Self.gather(source) { Self.pods($0).count == 5 }
                #expect(await eventually { await double.openWatches(.pods) == 1 })
                // The watch is cut; meanwhile bookthief goes away and a pod appears; the history is compacted.
                await double.inject(.gone, on: [.watch], type: .pods)
                await double.dropWatches()
                _ = await double.remove(.pods, namespace: "bookthief", name: "bookthief-0")
                await double.put(.pods, [apiPod("bookbuyer-1", namespace: "bookbuyer", ip: "127.1.0.16", serviceAccount: "bookbuyer")])
                let changes = await Self.gather(source) {
                    $0.contains(.delete(ResourceKey(kind: .pod, namespace: "bookthief", name: "bookthief-0"))) && Self.pods($0)["bookbuyer/bookbuyer-1"] != nil
                }
                #expect(Self.pods(changes) == ["bookbuyer/bookbuyer-1": "127.1.0.16"], "unchanged pods are not passed on again")
                let lists = await double.requests().filter { $0.verb == .list && $0.type == .pods && $0.query["continue"] == nil }
                #expect(lists.count == 2)
                // Every dropped watch (one per kind) reconnects; none stays a problem.
                #expect(await eventually { source.problems.isEmpty }, "a 410 is routine")
            }
        }
    }

    @Test func aDroppedOrTruncatedStreamReconnectsWithBackoff() async throws {
        try await withDouble(suite: 5) { double, client in
            try await double.load(list: bookstoreFixture())
            let capture = LogCapture()
            try await Self.withSource(double, client, logger: capture.logger) { source, _ in
                _ = await Self.gather(source) { Self.pods($0).count == 5 }
                #expect(await eventually { await double.openWatches(.pods) == 1 })
                await double.inject(.truncate, on: [.watch], type: .pods)
                await double.inject(.drop(afterEvents: 1), on: [.watch], type: .pods)
                await double.dropWatches()
                // truncated, then a watch that drops after its first event, then a healthy one.
                #expect(await eventually { await double.requests().filter { $0.verb == .watch && $0.type == .pods }.count >= 3 })
                await double.put(.pods, [apiPod("bookstore-2", namespace: "bookstore", ip: "127.1.0.17")])
                await double.put(.pods, [apiPod("bookstore-3", namespace: "bookstore", ip: "127.1.0.18")])
                let changes = await Self.gather(source) { Self.pods($0).keys.contains("bookstore/bookstore-3") }
                #expect(Self.pods(changes)["bookstore/bookstore-2"] == "127.1.0.17")
                #expect(source.failedReads >= 2)
                #expect(await eventually { source.problems.isEmpty })
                let problems = capture.metadata(of: "API server problem; retrying with backoff, the last good resources stay in force").map { "\($0["problem"] ?? "")" }
                #expect(problems.contains { $0.contains("the stream ended inside an event") })
            }
        }
    }

    @Test func garbageIsLoggedOnceAndRetried() async throws {
        try await withDouble(suite: 6) { double, client in
            try await double.load(list: bookstoreFixture())
            let capture = LogCapture()
            try await Self.withSource(double, client, logger: capture.logger) { source, _ in
                _ = await Self.gather(source) { Self.pods($0).count == 5 }
                #expect(await eventually { await double.openWatches(.pods) == 1 })
                await double.inject(.garbage, on: [.watch], type: .pods, times: 3)
                await double.dropWatches()
                #expect(await eventually { await double.requests().filter { $0.verb == .watch && $0.type == .pods }.count >= 5 })
                #expect(await eventually { await double.openWatches(.pods) == 1 })
                let warnings = capture.metadata(of: "API server problem; retrying with backoff, the last good resources stay in force")
                    .filter { "\($0["problem"] ?? "")".contains("not a watch event") }
                #expect(warnings.count == 1, "three garbage streams, one cause, one line")
                #expect(await eventually { capture.count("API server reachable again") >= 1 || source.problems.isEmpty })
                #expect(source.failedReads >= 3)
            }
        }
    }

    @Test func unauthorizedAndForbiddenAreReportedWithTheirReason() async throws {
        var settings = KubeAPIDouble.Settings()
        settings.tokens = ["good"]
        try await withDouble(suite: 7, settings: settings, credentials: .bearerToken("stale")) { double, client in
            try await double.load(list: bookstoreFixture())
            try await Self.withSource(double, client) { source, _ in
                #expect(await eventually { source.problems.contains { $0.contains("401 Unauthorized: Unauthorized") } })
                #expect(!source.isSynced)
                #expect(source.poll().newProblems.contains { $0.hasPrefix("list ") && $0.contains("401 Unauthorized") })
                await double.inject(.forbidden(.pods), on: [.list], type: .pods, times: 1000)
                await double.acceptTokens(["stale"])
                #expect(await eventually {
                    source.problems == ["list pods failed: GET /api/v1/pods?limit=3: 403 Forbidden: pods is forbidden: User \"system:serviceaccount:fsm-system:fsm\" cannot list resource \"pods\" in API group \"\" at the cluster scope"]
                })
                #expect(!source.isSynced, "not ready while pods cannot be listed")
            }
        }
    }

    @Test func aNamespaceThatJoinsBringsItsObjectsAndOneThatLeavesTakesThemAway() async throws {
        try await withDouble(suite: 8) { double, client in
            try await double.load(list: bookstoreFixture())
            try await Self.withSource(double, client) { source, _ in
                _ = await Self.gather(source) { Self.pods($0).count == 5 }
                await double.put(.pods, [apiPod("web-0", namespace: "default", ip: "10.244.1.5")])
                try await Task.sleep(for: .milliseconds(200))
                #expect(Self.pods(source.poll().changes).isEmpty, "default is not monitored")
                let labelled: JSONValue = .object([("apiVersion", .string("v1")), ("kind", .string("Namespace")),
                                                   ("metadata", .object([("name", .string("default")),
                                                                         ("labels", .object([("flomesh.io/monitored-by", .string("fsm")), ("kubernetes.io/metadata.name", .string("default"))]))]))])
                await double.put(.namespaces, [labelled])
                let joined = await Self.gather(source) { Self.pods($0)["default/web-0"] != nil }
                #expect(Self.pods(joined)["default/web-0"] == "10.244.1.5")
                await double.put(.namespaces, [labelled.setting("metadata", to: .object([("name", .string("default"))]))])
                let left = await Self.gather(source) { $0.contains(.delete(ResourceKey(kind: .namespace, namespace: "", name: "default"))) }
                #expect(left.contains(.delete(ResourceKey(kind: .pod, namespace: "default", name: "web-0"))))
            }
        }
    }
}
