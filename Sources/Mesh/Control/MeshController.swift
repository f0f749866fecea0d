import MeshModel

/// One change to the cluster the controller watches.
public enum ResourceChange: Hashable, Sendable {
    case upsert(Resource)
    case delete(ResourceKey)
}

/// Identifies a pod: `namespace/name`.
public struct PodKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String { didSet { hashCode = Self.hashCode(namespace, name) } }
    public var name: String { didSet { hashCode = Self.hashCode(namespace, name) } }
    /// Hashed once: the controller looks each pod up in several tables per change.
    private var hashCode: Int

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
        hashCode = Self.hashCode(namespace, name)
    }

    private static func hashCode(_ namespace: String, _ name: String) -> Int {
        var hasher = Hasher()
        hasher.combine(namespace)
        hasher.combine(name)
        return hasher.finalize()
    }

    public static func == (lhs: PodKey, rhs: PodKey) -> Bool {
        lhs.hashCode == rhs.hashCode && lhs.namespace == rhs.namespace && lhs.name == rhs.name
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(hashCode)
    }

    public static func < (lhs: PodKey, rhs: PodKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    public var description: String { "\(namespace)/\(name)" }
}

/// What one `apply` changed.
public struct ControllerUpdate: Sendable {
    /// Meshed pods whose config version changed (including newly meshed pods), sorted.
    public var changed: [PodKey]
    /// Pods that were meshed before and are not any more (deleted or no longer injected), sorted.
    public var removed: [PodKey]
    /// Proxy configs actually computed by this apply (in full, or by patching changed catalog entries).
    public var recomputed: Int
    /// Gateways (`namespace/name`) whose config changed, appeared or went away, sorted.
    public var gateways: [String]

    public init(changed: [PodKey] = [], removed: [PodKey] = [], recomputed: Int = 0, gateways: [String] = []) {
        self.changed = changed
        self.removed = removed
        self.recomputed = recomputed
        self.gateways = gateways
    }
}

/// The pure mesh controller: cluster resources in, one `ProxyConfig` per meshed pod out.
///
/// Incremental: every computed result records the inputs (`Dependency`) it read; a change touches
/// dependencies and only the results that read one are recomputed. Two layers are cached: the
/// outbound piece of each service (shared by all its clients) and the config of each proxy group
/// (pods with the same namespace, ServiceAccount, served services and container ports get the
/// same config, computed once).
public struct MeshController: Sendable {
    public let meshName: String
    public let controlPlaneNamespace: String
    /// The MeshConfig in force; a MeshConfig upsert replaces it, a delete restores the initial one.
    public private(set) var meshConfig: MeshConfig
    /// Problems found in the inputs (invalid splits, missing route groups, unresolved ports), sorted.
    public private(set) var diagnostics: [ControllerDiagnostic] = []

    private let initialMeshConfig: MeshConfig
    var cluster: ClusterState
    var pieces: [ServiceRef: ServicePiece] = [:]
    var pieceIndex = DependencyIndex<ServiceRef>()
    /// Every mesh service's outbound, assembled once for all permissive clients.
    var catalog: OutboundAssembly?
    /// Proxy groups by id (an index into this array; nil: a free slot). Pods, the dependency index and
    /// the per-apply bookkeeping refer to groups by id, so that the hot paths hash an integer instead
    /// of a group key (namespace, ServiceAccount, served services, container ports).
    var groups: [ProxyGroup?] = []
    /// Slots of `groups` freed by deleted groups, reused by new ones.
    var freeGroupIDs: [Int] = []
    var groupIDs: [ProxyGroupKey: Int] = [:]
    var groupIndex = DependencyIndex<Int>()
    var podGroups: [PodKey: Int] = [:]
    /// Every meshed pod, sorted, with its group's id; rebuilt after pods move between groups. Lets
    /// an apply that changes most groups list the changed pods in order without sorting them.
    var sortedMembers: [(pod: PodKey, group: Int)]?
    /// The split problems last found; recomputed only when a change could alter them.
    var splitProblems: [ControllerDiagnostic] = []
    /// Set when a piece's, a group's or the splits' problems may have changed since `diagnostics`
    /// was built: rebuilding the union walks every piece and group, too slow for every apply.
    var diagnosticsStale = false
    /// The gateways' configs and statuses, rebuilt when a change reaches them (`MeshController+Gateway.swift`).
    var gatewayState = GatewayControllerState()

    public init(meshConfig: MeshConfig = MeshConfig(), meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system") {
        self.meshConfig = meshConfig
        self.initialMeshConfig = meshConfig
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
        self.cluster = ClusterState(meshName: meshName, controlPlaneNamespace: controlPlaneNamespace)
    }

    public func config(for pod: PodKey) -> ProxyConfig? {
        guard let id = podGroups[pod] else { return nil }
        return groups.withUnsafeBufferPointer { $0[id]?.config }
    }

    public var meshedPods: [PodKey] { podGroups.keys.sorted() }

    public func isMeshed(_ pod: PodKey) -> Bool { podGroups[pod] != nil }

    /// Number of distinct proxy configs currently held (pods with identical inputs share one).
    public var proxyGroupCount: Int { groupIDs.count }

    public mutating func apply(_ changes: [ResourceChange]) -> ControllerUpdate {
        // One effect collects every change's touches: no per-change sets to allocate and merge.
        var effect = ClusterState.Effect()
        if changes.count > 1000 {
            // A bulk load: size the largest tables once instead of growing them step by step.
            cluster.reserveCapacity(adding: changes.count)
            effect.regroup.reserveCapacity(changes.count)
        }
        for change in changes {
            switch change {
            case .upsert(.meshConfig(let config)): meshConfig = config
            case .delete(let key) where key.kind == .meshConfig: meshConfig = initialMeshConfig
            default: break
            }
            cluster.apply(change, into: &effect)
        }
        let gatewayChanges = refreshGateways(after: changes)
        var touched = effect.touched

        if touched.contains(where: \.canChangeSplitProblems) {
            let problems = cluster.splitDiagnostics()
            if problems != splitProblems { splitProblems = problems; diagnosticsStale = true }
        }
        // Touched by the cluster itself (a namespace entering or leaving the mesh, a service created
        // or deleted): the catalog's set of services changed, so it is rebuilt rather than patched.
        let catalogReshaped = touched.contains(.catalog)
        let replacedPieces = refreshPieces(touched: &touched)
        // The catalog changed: when only entries changed (not which services, ports or clusters it
        // has), it is patched in place and permissive clients patch those entries into their configs
        // instead of recomputing.
        var catalogDelta: CatalogDelta?
        if touched.contains(.catalog), var current = catalog.take() {
            if !touched.contains(.meshConfig) {
                if !catalogReshaped, let delta = current.patch(replacing: replacedPieces, pieces: pieces) {
                    catalog = current
                    catalogDelta = delta
                } else {
                    let new = buildCatalog()
                    catalog = new
                    catalogDelta = CatalogDelta(old: current, new: new)
                }
            }
        }
        // Move pods between proxy groups. A pod is in `regroup` once, so it moves at most once.
        var moved: [(pod: PodKey, before: String?, group: Int?)] = [] // before: its config's version, nil when it was not meshed
        var created: [Int] = [] // new groups, with no config yet
        for pod in effect.regroup {
            let old = podGroups[pod]
            let newKey = cluster.pods[pod].flatMap { cluster.isInjected($0) ? ProxyGroupKey(pod: $0, key: pod, cluster: cluster) : nil }
            if let old, let newKey, groups.withUnsafeBufferPointer({ $0[old]?.key == newKey }) { continue }
            if old == nil, newKey == nil { continue }
            var before: String?
            // Groups are moved out of their slot to be changed: through the subscript the change
            // would go to a copy of the group (with copies of its member set and config arrays).
            if let old, var group = groups[old].take() {
                before = group.version
                group.members.remove(pod)
                let empty = group.members.isEmpty
                groups[old] = group
                if empty { removeGroup(old) }
            }
            var new: Int?
            if let newKey {
                let id = groupIDs[newKey] ?? addGroup(newKey, created: &created)
                var group = groups[id].take()!
                group.members.insert(pod)
                groups[id] = group
                new = id
            }
            podGroups[pod] = new
            moved.append((pod, before, new))
        }

        if catalogDelta != nil { touched.remove(.catalog) }
        var dirty = groupIndex.owners(readingAnyOf: touched).filter(isLiveGroup)
        for id in created where isLiveGroup(id) { dirty.insert(id) }
        // Groups whose version changed; their members are the changed pods (moved pods aside).
        var changedGroups: [Int] = []
        var changedCount = 0 // members of the changed groups
        var patched = 0
        if let catalog, catalogDelta != nil {
            for id in groupIndex.owners(readingAnyOf: [.catalog]) where !dirty.contains(id) {
                guard var group = groups[id].take() else { continue }
                patched += 1
                if group.patch(from: catalog) {
                    changedGroups.append(id)
                    changedCount += group.members.count
                }
                groups[id] = group
            }
        }
        for id in dirty {
            guard var group = groups[id].take() else { continue }
            let computed = computeConfig(for: group.key)
            if group.diagnostics != computed.diagnostics { diagnosticsStale = true }
            let versionChanged = group.version != computed.config.version
            group.update(with: computed)
            groups[id] = group
            groupIndex.set(computed.dependencies, for: id)
            if versionChanged {
                changedGroups.append(id)
                changedCount += group.members.count
            }
        }
        if !moved.isEmpty { sortedMembers = nil }
        if moved.isEmpty, changedCount > 64, changedCount * 8 > podGroups.count {
            // Most pods changed: filter the sorted member list instead of sorting them.
            var isChanged = [Bool](repeating: false, count: groups.count)
            for id in changedGroups { isChanged[id] = true }
            if sortedMembers == nil {
                sortedMembers = podGroups.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            var changedPods: [PodKey] = []
            changedPods.reserveCapacity(changedCount)
            for member in sortedMembers! where isChanged[member.group] { changedPods.append(member.pod) }
            updateDiagnostics()
            return ControllerUpdate(changed: changedPods, removed: [], recomputed: dirty.count + patched, gateways: gatewayChanges)
        }
        // Changed: members of changed groups that did not move, and moved pods whose version differs
        // from the one they had (a pod is in one group, so nothing is listed twice). Every member of
        // a group created by this apply moved into it.
        var changed: [PodKey] = []
        changed.reserveCapacity(changedCount + moved.count)
        var isCreated = [Bool](repeating: false, count: created.isEmpty ? 0 : groups.count)
        for id in created { isCreated[id] = true }
        var movedPods: Set<PodKey>?
        for id in changedGroups where created.isEmpty || !isCreated[id] {
            guard let members = groups.withUnsafeBufferPointer({ $0[id]?.members }) else { continue }
            if moved.isEmpty { changed.append(contentsOf: members); continue }
            if movedPods == nil { movedPods = Set(moved.map(\.pod)) }
            for pod in members where !movedPods!.contains(pod) { changed.append(pod) }
        }
        var removed: [PodKey] = []
        for (pod, before, group) in moved {
            if let group {
                if groups.withUnsafeBufferPointer({ $0[group]?.version }) != before { changed.append(pod) }
            } else if before != nil {
                removed.append(pod)
            }
        }

        updateDiagnostics()
        return ControllerUpdate(changed: changed.sorted(), removed: removed.sorted(), recomputed: dirty.count + patched, gateways: gatewayChanges)
    }

    // Groups are read through a buffer pointer: in place, where the array subscript's getter would
    // copy the whole group (its member set, key and config) to read one field.

    private func isLiveGroup(_ id: Int) -> Bool {
        groups.withUnsafeBufferPointer { $0[id] != nil }
    }

    /// A new, empty group for `key`, in a free slot when there is one.
    private mutating func addGroup(_ key: ProxyGroupKey, created: inout [Int]) -> Int {
        let id: Int
        if let free = freeGroupIDs.popLast() {
            id = free
            groups[id] = ProxyGroup(id: id, key: key)
        } else {
            id = groups.count
            groups.append(ProxyGroup(id: id, key: key))
        }
        groupIDs[key] = id
        created.append(id)
        return id
    }

    private mutating func removeGroup(_ id: Int) {
        guard let group = groups[id].take() else { return }
        if !group.diagnostics.isEmpty { diagnosticsStale = true }
        groupIDs[group.key] = nil
        groupIndex.remove(id)
        freeGroupIDs.append(id)
    }

    private mutating func updateDiagnostics() {
        guard diagnosticsStale else { return }
        diagnosticsStale = false
        var problems = Set(splitProblems)
        for piece in pieces.values { problems.formUnion(piece.diagnostics) }
        for group in groups { if let group { problems.formUnion(group.diagnostics) } }
        diagnostics = problems.sorted()
    }

    /// Recomputes the outbound pieces that read a touched dependency; a piece whose content changed
    /// touches `.piece` (its SMI clients) and `.catalog` (permissive clients). Returns the services
    /// whose piece changed content or went away.
    private mutating func refreshPieces(touched: inout Set<Dependency>) -> [ServiceRef] {
        var replaced: [ServiceRef] = []
        for ref in pieceIndex.owners(readingAnyOf: touched) {
            let old = pieces[ref]
            if let new = cluster.outboundPiece(for: ref) {
                if old?.diagnostics != new.diagnostics { diagnosticsStale = true }
                pieces[ref] = new
                pieceIndex.set(new.dependencies, for: ref)
                if old?.hash != new.hash {
                    touched.formUnion([.piece(ref), .catalog])
                    replaced.append(ref)
                }
            } else {
                if old?.diagnostics.isEmpty == false { diagnosticsStale = true }
                pieces[ref] = nil
                pieceIndex.remove(ref)
                touched.formUnion([.piece(ref), .catalog])
                replaced.append(ref)
            }
        }
        return replaced
    }

    /// The piece of a mesh service, computed on first use.
    mutating func piece(for ref: ServiceRef) -> ServicePiece? {
        if let piece = pieces[ref] { return piece }
        guard let piece = cluster.outboundPiece(for: ref) else { return nil }
        if !piece.diagnostics.isEmpty { diagnosticsStale = true }
        pieces[ref] = piece
        pieceIndex.set(piece.dependencies, for: ref)
        return piece
    }
}
