import MeshKube
import MeshModel
import MeshTesting
import Testing

/// The list/watch state machine without a network: lines in, steps and changes out.
@Suite struct ListWatchTests {
    static func pod(_ name: String, ip: String, version: Int, namespace: String = "shop", phase: String = "Running", terminating: Bool = false) -> JSONValue {
        var metadata: [(String, JSONValue)] = [("name", .string(name)), ("namespace", .string(namespace)), ("resourceVersion", .string(String(version)))]
        if terminating { metadata.append(("deletionTimestamp", .string("2026-03-01T10:00:00Z"))) }
        return .object([
            ("metadata", .object(metadata)),
            ("spec", .object([("serviceAccountName", .string("buyer")),
                              ("containers", .array([.object([("name", .string("app")), ("image", .string("buyer:1"))])]))])),
            ("status", .object([("phase", .string(phase)), ("podIP", .string(ip))])),
        ])
    }

    static func line(_ type: String, _ object: JSONValue) -> [UInt8] {
        Array(JSONValue.object([("type", .string(type)), ("object", object)]).rendered().utf8)
    }

    static func bookmark(_ version: Int) -> [UInt8] {
        line("BOOKMARK", .object([("kind", .string("Pod")), ("apiVersion", .string("v1")), ("metadata", .object([("resourceVersion", .string(String(version)))]))]))
    }

    static func list(_ items: [JSONValue], version: Int) -> KubeList {
        KubeList(items: items.map(KubeObject.init(json:)), resourceVersion: String(version))
    }

    static func changes(_ effects: [ListWatch.Effect]) -> [InformerChange] {
        effects.flatMap { effect -> [InformerChange] in
            if case .changes(let list) = effect { return list }
            return []
        }
    }

    static func podIP(_ change: InformerChange) -> String? {
        if case .upsert(.pod(let pod)) = change { return pod.podIP }
        return nil
    }

    var random = SeededGenerator(seed: 11)

    @Test mutating func listsThenWatchesFromTheListsVersion() {
        var machine = ListWatch(type: .pods, minWatchTimeout: .seconds(300))
        #expect(machine.step == .list)
        let effects = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.1", version: 5)], version: 9)), using: &random)
        #expect(effects.contains(.synced))
        #expect(Self.changes(effects).map(Self.podIP) == ["10.0.0.1"])
        guard case .watch(let version, let timeout) = machine.step else { Issue.record("expected a watch, got \(machine.step)"); return }
        #expect(version == "9")
        #expect((300..<600).contains(timeout))
        #expect(machine.hasSynced)
    }

    @Test mutating func watchEventsMoveTheVersionAndBecomeChanges() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.1", version: 5)], version: 9)), using: &random)
        let modified = machine.handle(.watchLine(Self.line("MODIFIED", Self.pod("a", ip: "10.0.0.2", version: 10))), using: &random)
        #expect(Self.changes(modified).map(Self.podIP) == ["10.0.0.2"])
        #expect(machine.resourceVersion == "10")
        let deleted = machine.handle(.watchLine(Self.line("DELETED", Self.pod("a", ip: "10.0.0.2", version: 11))), using: &random)
        #expect(Self.changes(deleted) == [.delete(KubeObjectKey(namespace: "shop", name: "a"))])
        #expect(machine.resourceVersion == "11")
    }

    @Test mutating func aBookmarkAdvancesTheVersionWithoutChanges() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([], version: 9)), using: &random)
        let effects = machine.handle(.watchLine(Self.bookmark(40)), using: &random)
        #expect(Self.changes(effects).isEmpty)
        #expect(machine.resourceVersion == "40")
        // The server ending the watch normally resumes from the bookmark's version.
        _ = machine.handle(.watchEnded(nil), using: &random)
        guard case .watch(let version, _) = machine.step else { Issue.record("expected a watch"); return }
        #expect(version == "40")
    }

    @Test mutating func aStatusOnlyUpdateChangesNothing() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.1", version: 5)], version: 9)), using: &random)
        var withCondition = Self.pod("a", ip: "10.0.0.1", version: 12)
        withCondition = withCondition.setting("status", to: (withCondition["status"] ?? .null).setting("conditions", to: .array([])))
        let effects = machine.handle(.watchLine(Self.line("MODIFIED", withCondition)), using: &random)
        #expect(Self.changes(effects).isEmpty)
        #expect(machine.resourceVersion == "12")
    }

    @Test mutating func gone410RelistsAndTheDifferenceBecomesTheChanges() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.1", version: 5), Self.pod("b", ip: "10.0.0.2", version: 6)], version: 9)), using: &random)
        let status: JSONValue = .object([("kind", .string("Status")), ("code", .int(410)), ("reason", .string("Expired")), ("message", .string("too old resource version"))])
        let error = machine.handle(.watchLine(Self.line("ERROR", status)), using: &random)
        #expect(error.isEmpty, "a 410 is not a failure to report")
        #expect(machine.step == .list)
        // While the watch was down: a changed, b deleted, c added; unchanged objects make no change.
        let relisted = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.9", version: 20), Self.pod("c", ip: "10.0.0.3", version: 21)], version: 30)),
                                      using: &random)
        let changes = Self.changes(relisted)
        #expect(changes.contains(.delete(KubeObjectKey(namespace: "shop", name: "b"))))
        #expect(Set(changes.compactMap(Self.podIP)) == ["10.0.0.9", "10.0.0.3"])
        #expect(changes.count == 3)
        #expect(!relisted.contains(.synced), "synced is reported once")
        let again = machine.handle(.watchEnded(KubeError(.status(code: 410, reason: "Gone"), request: "GET", message: "gone")), using: &random)
        #expect(again.isEmpty)
    }

    @Test mutating func garbageIsReportedOnceThenRetriedAfterABackoff() {
        var machine = ListWatch(type: .pods, backoff: ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0))
        _ = machine.handle(.listed(Self.list([], version: 9)), using: &random)
        let first = machine.handle(.watchLine(Array("<html>proxy error".utf8)), using: &random)
        guard case .problem(let text, isNew: true)? = first.first else { Issue.record("expected a new problem, got \(first)"); return }
        #expect(text.contains("not a watch event"))
        #expect(machine.step == .wait(.milliseconds(100)))
        _ = machine.handle(.waited, using: &random)
        guard case .watch(let version, _) = machine.step else { Issue.record("expected a watch again"); return }
        #expect(version == "9")
        let second = machine.handle(.watchLine(Array("<html>proxy error".utf8)), using: &random)
        #expect(second == [.problem(text, isNew: false)], "the same cause is not logged again")
        #expect(machine.step == .wait(.milliseconds(200)))
        _ = machine.handle(.waited, using: &random)
        let recovered = machine.handle(.watchLine(Self.bookmark(12)), using: &random)
        #expect(recovered == [.recovered])
        #expect(machine.problem == nil)
        #expect(machine.failures == 2)
    }

    @Test mutating func aFailedListWaitsAndListsAgain() {
        var machine = ListWatch(type: .pods, backoff: ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0))
        let effects = machine.handle(.listFailed(KubeError(.status(code: 403, reason: "Forbidden"), request: "GET /api/v1/pods", message: "pods is forbidden")),
                                     using: &random)
        guard case .problem(let text, isNew: true)? = effects.first else { Issue.record("expected a problem"); return }
        #expect(text == "list pods failed: GET /api/v1/pods: 403 Forbidden: pods is forbidden")
        #expect(machine.step == .wait(.milliseconds(100)))
        _ = machine.handle(.waited, using: &random)
        #expect(machine.step == .list)
        #expect(!machine.hasSynced)
    }

    @Test mutating func aDroppedWatchWaitsThenWatchesFromTheLastVersion() {
        var machine = ListWatch(type: .pods, backoff: ReconnectBackoff(initial: .milliseconds(100), maximum: .seconds(1), jitter: 0))
        _ = machine.handle(.listed(Self.list([], version: 9)), using: &random)
        _ = machine.handle(.watchLine(Self.line("ADDED", Self.pod("a", ip: "10.0.0.1", version: 14))), using: &random)
        _ = machine.handle(.watchEnded(KubeError(.unreachable, request: "GET", message: "connection reset")), using: &random)
        #expect(machine.step == .wait(.milliseconds(100)))
        _ = machine.handle(.waited, using: &random)
        guard case .watch(let version, _) = machine.step else { Issue.record("expected a watch"); return }
        #expect(version == "14")
    }

    @Test mutating func anObjectThatDoesNotDecodeKeepsItsLastGoodVersion() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.1", version: 5)], version: 9)), using: &random)
        let broken = Self.pod("a", ip: "10.0.0.2", version: 10).setting("spec", to: .object([("containers", .string("oops"))]))
        let effects = machine.handle(.watchLine(Self.line("MODIFIED", broken)), using: &random)
        #expect(Self.changes(effects).isEmpty)
        guard case .objectProblem(let problem)? = effects.first(where: { if case .objectProblem = $0 { true } else { false } }) else {
            Issue.record("expected an object problem, got \(effects)"); return
        }
        #expect(problem.description == "Pod shop/a (resourceVersion 10): spec.containers: expected sequence, found string \"oops\"")
        #expect(machine.objectProblems.count == 1)
        #expect(machine.count == 1)
        let fixed = machine.handle(.watchLine(Self.line("MODIFIED", Self.pod("a", ip: "10.0.0.3", version: 11))), using: &random)
        #expect(fixed.contains(.objectProblemCleared(KubeObjectKey(namespace: "shop", name: "a"))))
        #expect(Self.changes(fixed).map(Self.podIP) == ["10.0.0.3"])
    }

    @Test mutating func terminatingAndFinishedPodsLeaveTheMesh() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([Self.pod("a", ip: "10.0.0.1", version: 5), Self.pod("b", ip: "10.0.0.2", version: 6)], version: 9)), using: &random)
        let terminating = machine.handle(.watchLine(Self.line("MODIFIED", Self.pod("a", ip: "10.0.0.1", version: 10, terminating: true))), using: &random)
        #expect(Self.changes(terminating) == [.delete(KubeObjectKey(namespace: "shop", name: "a"))])
        let finished = machine.handle(.watchLine(Self.line("MODIFIED", Self.pod("b", ip: "10.0.0.2", version: 11, phase: "Succeeded"))), using: &random)
        #expect(Self.changes(finished) == [.delete(KubeObjectKey(namespace: "shop", name: "b"))])
        // Its final DELETED changes nothing more.
        let deleted = machine.handle(.watchLine(Self.line("DELETED", Self.pod("a", ip: "10.0.0.1", version: 12, terminating: true))), using: &random)
        #expect(Self.changes(deleted).isEmpty)
    }

    @Test mutating func listItemsWithoutKindOrAPIVersionDecode() {
        var machine = ListWatch(type: .services)
        let service: JSONValue = .object([
            ("metadata", .object([("name", .string("store")), ("namespace", .string("shop")), ("resourceVersion", .string("3"))])),
            ("spec", .object([("clusterIP", .string("10.96.0.20")), ("selector", .object([("app", .string("store"))])),
                              ("ports", .array([.object([("port", .int(8080)), ("targetPort", .string("web")), ("protocol", .string("TCP"))])]))])),
        ])
        let effects = machine.handle(.listed(Self.list([service], version: 3)), using: &random)
        guard case .upsert(.service(let decoded))? = Self.changes(effects).first else { Issue.record("expected a service, got \(effects)"); return }
        #expect(decoded.clusterIP == "10.96.0.20")
        #expect(decoded.ports.first?.targetPort == .string("web"))
    }

    @Test mutating func aResyncRelistsWhileWatching() {
        var machine = ListWatch(type: .pods)
        _ = machine.handle(.listed(Self.list([], version: 9)), using: &random)
        _ = machine.handle(.resyncDue, using: &random)
        #expect(machine.step == .list)
    }
}
