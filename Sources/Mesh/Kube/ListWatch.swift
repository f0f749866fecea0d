import MeshModel

/// What an informer tells its source: an object of its kind appeared or changed (decoded), or went
/// away. Objects that are terminating, and pods that finished, count as gone.
public enum InformerChange: Hashable, Sendable {
    case upsert(Resource)
    case delete(KubeObjectKey)
}

/// The list/watch protocol of one resource type as a value-typed state machine (client-go's
/// reflector): list, then watch from the list's resourceVersion with bookmarks; every event moves
/// the resourceVersion on. A watch the server ends normally is resumed from there; `ERROR` 410
/// (the version was compacted away) or a `Gone` answer relists, and the difference between the
/// cache and the new list becomes the changes. A failed request, a dropped or truncated stream, or a
/// line that is not a watch event waits (`ReconnectBackoff`) and tries again. A periodic resync
/// relists. The shell (`Informer`) carries out `step` and feeds the outcomes back.
public struct ListWatch: Sendable {
    public let type: KubeResourceType
    public var backoff: ReconnectBackoff
    /// Watches ask the server to end after a random time in [minWatchTimeout, 2 × minWatchTimeout).
    public var minWatchTimeout: Duration
    /// A relist after this much time of watching (nil: never).
    public var resyncPeriod: Duration?

    /// What the shell should do next.
    public enum Step: Equatable, Sendable {
        case list
        /// Watch from `resourceVersion`, asking the server to end the stream after `timeoutSeconds`.
        case watch(resourceVersion: String, timeoutSeconds: Int)
        /// Sleep, then report `.waited`.
        case wait(Duration)
    }

    /// What happened to the step in progress.
    public enum Event: Sendable {
        case listed(KubeList)
        case listFailed(KubeError)
        /// The server accepted the watch (200): the connection works again.
        case watchStarted
        /// One line of the watch stream.
        case watchLine([UInt8])
        /// The stream ended: cleanly (nil: the server's timeout) or with an error (a drop, a deadline,
        /// a refused watch, a truncated last line).
        case watchEnded(KubeError?)
        case waited
        /// The resync period passed.
        case resyncDue
    }

    /// What the shell reports or passes on.
    public enum Effect: Hashable, Sendable {
        case changes([InformerChange])
        /// The first list completed (the informer has synced).
        case synced
        /// A problem to log and show until it clears; `isNew` is false when the same problem repeats
        /// (logged once).
        case problem(String, isNew: Bool)
        /// The problem of the last failure cleared by a success (an event, a list): logged.
        case recovered
        /// The problem in force cleared because the server accepted a watch again; not logged, and the
        /// same cause coming back is still not logged again (no line per reconnect of a flapping server).
        case problemCleared
        /// An object that does not decode (its last good version stays in force).
        case objectProblem(KubeDecodeProblem)
        case objectProblemCleared(KubeObjectKey)
    }

    private struct Entry: Sendable {
        var resourceVersion: String
        /// The last good decoded version; nil when it never decoded or is gone (terminating).
        var resource: Resource?
        var problem: KubeDecodeProblem?
    }

    public private(set) var step: Step = .list
    public private(set) var resourceVersion: String?
    public private(set) var hasSynced = false
    /// The connection problem in force (nil when the last step went well).
    public private(set) var problem: String?
    /// The last problem logged; cleared only by a real success, so a cause that repeats is logged once.
    private var reportedProblem: String?
    private var entries: [KubeObjectKey: Entry] = [:]
    private var afterWait: Step = .list
    /// Failures (of any step) since the start.
    public private(set) var failures = 0

    public init(type: KubeResourceType, backoff: ReconnectBackoff = ReconnectBackoff(), minWatchTimeout: Duration = .seconds(300),
                resyncPeriod: Duration? = .seconds(1800)) {
        self.type = type
        self.backoff = backoff
        self.minWatchTimeout = minWatchTimeout
        self.resyncPeriod = resyncPeriod
    }

    /// Objects that do not decode right now, with why.
    public var objectProblems: [KubeDecodeProblem] {
        entries.values.compactMap(\.problem).sorted { $0.object < $1.object }
    }

    /// Objects in the cache with a usable version.
    public var count: Int { entries.values.reduce(0) { $0 + ($1.resource == nil ? 0 : 1) } }

    public mutating func handle(_ event: Event, using generator: inout some RandomNumberGenerator) -> [Effect] {
        switch event {
        case .listed(let list): return listed(list, using: &generator)
        case .listFailed(let error):
            return fail("list \(type) failed: \(error)", retry: .list, using: &generator)
        case .watchStarted:
            // The backoff stays until an event arrives: a server that accepts and drops at once is not hammered.
            guard case .watch = step, problem != nil else { return [] }
            problem = nil
            return [.problemCleared]
        case .watchLine(let bytes): return watchLine(bytes, using: &generator)
        case .watchEnded(nil):
            guard case .watch = step, let resourceVersion else { return [] }
            step = .watch(resourceVersion: resourceVersion, timeoutSeconds: watchTimeout(using: &generator))
            return []
        case .watchEnded(let error?):
            guard case .watch = step else { return [] }
            if error.isGone { return relist() }
            return fail("watch \(type) failed: \(error)", retry: nil, using: &generator)
        case .waited:
            guard case .wait = step else { return [] }
            step = afterWait
            return []
        case .resyncDue:
            guard case .watch = step else { return [] }
            step = .list
            return []
        }
    }

    // MARK: Steps

    private mutating func listed(_ list: KubeList, using generator: inout some RandomNumberGenerator) -> [Effect] {
        guard step == .list else { return [] }
        var changes: [InformerChange] = []
        var effects: [Effect] = []
        var seen = Set<KubeObjectKey>()
        seen.reserveCapacity(list.items.count)
        for object in list.items {
            seen.insert(object.key)
            effects += upsert(object, into: &changes)
        }
        for (key, entry) in entries where !seen.contains(key) {
            entries[key] = nil
            if entry.resource != nil { changes.append(.delete(key)) }
            if entry.problem != nil { effects.append(.objectProblemCleared(key)) }
        }
        resourceVersion = list.resourceVersion
        step = .watch(resourceVersion: list.resourceVersion, timeoutSeconds: watchTimeout(using: &generator))
        var result = succeeded() + effects
        if !changes.isEmpty { result.append(.changes(changes)) }
        if !hasSynced {
            hasSynced = true
            result.append(.synced)
        }
        return result
    }

    private mutating func watchLine(_ bytes: [UInt8], using generator: inout some RandomNumberGenerator) -> [Effect] {
        guard case .watch = step else { return [] }
        guard let event = try? JSONValue(parsing: bytes), let kind = event["type"]?.stringValue, let object = event["object"] else {
            let shown = String(decoding: bytes.prefix(80), as: UTF8.self)
            return fail("watch \(type): not a watch event: \(KubeClient.oneLine(shown))", retry: nil, using: &generator)
        }
        switch kind {
        case "ADDED", "MODIFIED":
            var changes: [InformerChange] = []
            let kubeObject = KubeObject(json: object)
            var effects = succeeded() + upsert(kubeObject, into: &changes)
            advance(to: kubeObject.resourceVersion)
            if !changes.isEmpty { effects.append(.changes(changes)) }
            return effects
        case "DELETED":
            let kubeObject = KubeObject(json: object)
            advance(to: kubeObject.resourceVersion)
            var effects = succeeded()
            if let entry = entries.removeValue(forKey: kubeObject.key) {
                if entry.resource != nil { effects.append(.changes([.delete(kubeObject.key)])) }
                if entry.problem != nil { effects.append(.objectProblemCleared(kubeObject.key)) }
            }
            return effects
        case "BOOKMARK":
            advance(to: KubeObject(json: object).resourceVersion)
            return succeeded()
        case "ERROR":
            let code = object["code"].flatMap { if case .int(let c) = $0 { Int(c) } else { nil } } ?? 0
            if code == 410 { return relist() }
            let message = object["message"]?.stringValue ?? object.rendered()
            return fail("watch \(type): server error \(code): \(KubeClient.oneLine(message))", retry: nil, using: &generator)
        default:
            return fail("watch \(type): unknown event type \(kind)", retry: nil, using: &generator)
        }
    }

    private mutating func advance(to version: String) {
        guard !version.isEmpty, case .watch(_, let timeout) = step else { return }
        resourceVersion = version
        step = .watch(resourceVersion: version, timeoutSeconds: timeout)
    }

    /// A 410: the resourceVersion is too old to watch from; list again at once (not a failure).
    private mutating func relist() -> [Effect] {
        resourceVersion = nil
        step = .list
        return []
    }

    /// A failure: back off, then `retry` (nil: watch again from the last resourceVersion, or list
    /// when there is none).
    private mutating func fail(_ problem: String, retry: Step?, using generator: inout some RandomNumberGenerator) -> [Effect] {
        failures += 1
        let delay = backoff.nextDelay(using: &generator)
        if let retry {
            afterWait = retry
        } else if let resourceVersion {
            afterWait = .watch(resourceVersion: resourceVersion, timeoutSeconds: watchTimeout(using: &generator))
        } else {
            afterWait = .list
        }
        step = .wait(delay)
        let isNew = reportedProblem != problem
        self.problem = problem
        reportedProblem = problem
        return [.problem(problem, isNew: isNew)]
    }

    private mutating func succeeded() -> [Effect] {
        backoff.reset()
        let hadProblem = problem != nil || reportedProblem != nil
        problem = nil
        reportedProblem = nil
        return hadProblem ? [.recovered] : []
    }

    /// Decodes an object into the cache; adds the change when its decoded form changed.
    private mutating func upsert(_ object: KubeObject, into changes: inout [InformerChange]) -> [Effect] {
        let key = object.key
        var entry = entries[key] ?? Entry(resourceVersion: "", resource: nil, problem: nil)
        if entry.resourceVersion == object.resourceVersion, !object.resourceVersion.isEmpty { return [] }
        entry.resourceVersion = object.resourceVersion
        var effects: [Effect] = []
        if Self.isGone(object, type: type) {
            if entry.resource != nil { changes.append(.delete(key)) }
            entry.resource = nil
            if entry.problem != nil { effects.append(.objectProblemCleared(key)) }
            entry.problem = nil
            entries[key] = entry
            return effects
        }
        switch KubeObjectDecoder.decode(object, as: type) {
        case .success(let resource):
            if entry.problem != nil { effects.append(.objectProblemCleared(key)) }
            entry.problem = nil
            if entry.resource != resource { changes.append(.upsert(resource)) }
            entry.resource = resource
        case .failure(let problem):
            entry.problem = problem
            effects.append(.objectProblem(problem))
        }
        entries[key] = entry
        return effects
    }

    /// Terminating objects, and pods that ran to completion, are no longer part of the mesh.
    static func isGone(_ object: KubeObject, type: KubeResourceType) -> Bool {
        if object.isTerminating { return true }
        guard type == .pods, let phase = object.json["status"]?["phase"]?.stringValue else { return false }
        return phase == "Succeeded" || phase == "Failed"
    }

    private func watchTimeout(using generator: inout some RandomNumberGenerator) -> Int {
        let base = max(1, Int(minWatchTimeout.components.seconds))
        return base + Int.random(in: 0..<base, using: &generator)
    }
}
