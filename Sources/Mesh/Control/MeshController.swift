import MeshModel

/// One change to the cluster the controller watches.
public enum ResourceChange: Hashable, Sendable {
    case upsert(Resource)
    case delete(ResourceKey)
}

/// Identifies a pod: `namespace/name`.
public struct PodKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
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

    public init(changed: [PodKey] = [], removed: [PodKey] = [], recomputed: Int = 0) {
        self.changed = changed
        self.removed = removed
        self.recomputed = recomputed
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
    public private(set) var diagnostics: [String] = []

    private let initialMeshConfig: MeshConfig
    var cluster: ClusterState
    var pieces: [ServiceRef: ServicePiece] = [:]
    var pieceIndex = DependencyIndex<ServiceRef>()
    /// Every mesh service's outbound, assembled once for all permissive clients.
    var catalog: OutboundAssembly?
    var groups: [ProxyGroupKey: ProxyGroup] = [:]
    var groupIndex = DependencyIndex<ProxyGroupKey>()
    var podGroups: [PodKey: ProxyGroupKey] = [:]
    /// Every meshed pod, sorted, with its group's id; rebuilt after pods move between groups. Lets
    /// an apply that changes most groups list the changed pods in order without sorting them.
    var sortedMembers: [(pod: PodKey, group: Int)]?
    var nextGroupID = 0
    /// The split problems last found; recomputed only when a change could alter them.
    var splitProblems: [String] = []
    /// Set when a piece's, a group's or the splits' problems may have changed since `diagnostics`
    /// was built: rebuilding the union walks every piece and group, too slow for every apply.
    var diagnosticsStale = false

    public init(meshConfig: MeshConfig = MeshConfig(), meshName: String = "fsm", controlPlaneNamespace: String = "fsm-system") {
        self.meshConfig = meshConfig
        self.initialMeshConfig = meshConfig
        self.meshName = meshName
        self.controlPlaneNamespace = controlPlaneNamespace
        self.cluster = ClusterState(meshName: meshName, controlPlaneNamespace: controlPlaneNamespace)
    }

    public func config(for pod: PodKey) -> ProxyConfig? {
        podGroups[pod].flatMap { groups[$0]?.config }
    }

    public var meshedPods: [PodKey] { podGroups.keys.sorted() }

    public func isMeshed(_ pod: PodKey) -> Bool { podGroups[pod] != nil }

    /// Number of distinct proxy configs currently held (pods with identical inputs share one).
    public var proxyGroupCount: Int { groups.count }

    public mutating func apply(_ changes: [ResourceChange]) -> ControllerUpdate {
        var touched = Set<Dependency>()
        var regroup = Set<PodKey>()
        for change in changes {
            switch change {
            case .upsert(.meshConfig(let config)): meshConfig = config
            case .delete(let key) where key.kind == .meshConfig: meshConfig = initialMeshConfig
            default: break
            }
            let effect = cluster.apply(change)
            touched.formUnion(effect.touched)
            regroup.formUnion(effect.regroup)
        }

        if touched.contains(where: \.canChangeSplitProblems) {
            let problems = cluster.splitDiagnostics()
            if problems != splitProblems { splitProblems = problems; diagnosticsStale = true }
        }
        refreshPieces(touched: &touched)
        // The catalog changed: when only entries changed (not which services, ports or clusters it
        // has), permissive clients patch those entries into their configs instead of recomputing.
        var catalogDelta: CatalogDelta?
        var patchedCatalog: OutboundAssembly?
        if touched.contains(.catalog), let old = catalog {
            catalog = nil
            if !touched.contains(.meshConfig) {
                let new = buildCatalog()
                catalog = new
                catalogDelta = CatalogDelta(old: old, new: new)
                if catalogDelta != nil { patchedCatalog = new }
            }
        }
        // Move pods between proxy groups.
        var moved: [PodKey: String?] = [:] // pod -> version of its config before, nil when it was not meshed
        var created: [ProxyGroupKey] = [] // new groups, with no config yet
        for pod in regroup {
            let old = podGroups[pod]
            let new = cluster.pods[pod].flatMap { cluster.isInjected($0) ? ProxyGroupKey(pod: $0, cluster: cluster) : nil }
            guard old != new else { continue }
            // updateValue: assigning a nil `String?` through the subscript would drop the entry.
            moved.updateValue(old.flatMap { groups[$0]?.config?.version }, forKey: pod)
            if let old {
                groups[old]?.members.remove(pod)
                if groups[old]?.members.isEmpty == true {
                    if groups[old]?.diagnostics.isEmpty == false { diagnosticsStale = true }
                    groups[old] = nil
                    groupIndex.remove(old)
                }
            }
            if let new {
                if groups[new] == nil {
                    groups[new] = ProxyGroup(id: nextGroupID)
                    nextGroupID += 1
                    created.append(new)
                }
                groups[new]!.members.insert(pod)
            }
            podGroups[pod] = new
        }

        var fullTouched = touched
        if patchedCatalog != nil { fullTouched.remove(.catalog) }
        var dirty = groupIndex.owners(readingAnyOf: fullTouched).filter { groups[$0] != nil }
        for key in created where groups[key] != nil { dirty.insert(key) }
        // Groups whose version changed; their members are the changed pods (moved pods aside).
        var changedGroups = Set<ProxyGroupKey>()
        var patched = 0
        if let patchedCatalog, let catalogDelta {
            for key in groupIndex.owners(readingAnyOf: [.catalog]) where !dirty.contains(key) {
                // Moved out of the dictionary so that its config's arrays are patched in place.
                guard var group = groups.removeValue(forKey: key) else { continue }
                patched += 1
                if group.patch(from: patchedCatalog, delta: catalogDelta) { changedGroups.insert(key) }
                groups[key] = group
            }
        }
        for key in dirty {
            let before = groups[key]?.config?.version
            let computed = computeConfig(for: key)
            groups[key]?.config = computed.config
            if groups[key]?.diagnostics != computed.diagnostics { diagnosticsStale = true }
            groups[key]?.diagnostics = computed.diagnostics
            groups[key]?.hashTail = computed.hashTail
            groups[key]?.retryByCluster = computed.retryByCluster
            groupIndex.set(computed.dependencies, for: key)
            if before != computed.config.version { changedGroups.insert(key) }
        }
        if !moved.isEmpty { sortedMembers = nil }
        let changedCount = changedGroups.reduce(0) { $0 + (groups[$1]?.members.count ?? 0) }
        if moved.isEmpty, changedCount > 64, changedCount * 8 > podGroups.count {
            // Most pods changed: filter the sorted member list instead of sorting a set.
            let ids = Set(changedGroups.compactMap { groups[$0]?.id })
            if sortedMembers == nil {
                sortedMembers = podGroups.sorted { $0.key < $1.key }.map { ($0.key, groups[$0.value]?.id ?? -1) }
            }
            let changedPods = sortedMembers!.filter { ids.contains($0.group) }.map(\.pod)
            updateDiagnostics()
            return ControllerUpdate(changed: changedPods, removed: [], recomputed: dirty.count + patched)
        }
        var changed = Set<PodKey>()
        for key in changedGroups { if let members = groups[key]?.members { changed.formUnion(members) } }
        var removed: [PodKey] = []
        for (pod, before) in moved {
            if let key = podGroups[pod] {
                if groups[key]?.config?.version != before { changed.insert(pod) } else { changed.remove(pod) }
            } else {
                changed.remove(pod)
                if before != nil { removed.append(pod) }
            }
        }

        updateDiagnostics()
        return ControllerUpdate(changed: changed.sorted(), removed: removed.sorted(), recomputed: dirty.count + patched)
    }

    private mutating func updateDiagnostics() {
        guard diagnosticsStale else { return }
        diagnosticsStale = false
        var problems = Set(splitProblems)
        for piece in pieces.values { problems.formUnion(piece.diagnostics) }
        for group in groups.values { problems.formUnion(group.diagnostics) }
        diagnostics = problems.sorted()
    }

    /// Recomputes the outbound pieces that read a touched dependency; a piece whose content changed
    /// touches `.piece` (its SMI clients) and `.catalog` (permissive clients).
    private mutating func refreshPieces(touched: inout Set<Dependency>) {
        for ref in pieceIndex.owners(readingAnyOf: touched) {
            let old = pieces[ref]
            if let new = cluster.outboundPiece(for: ref) {
                if old?.diagnostics != new.diagnostics { diagnosticsStale = true }
                pieces[ref] = new
                pieceIndex.set(new.dependencies, for: ref)
                if old?.hash != new.hash { touched.formUnion([.piece(ref), .catalog]) }
            } else {
                if old?.diagnostics.isEmpty == false { diagnosticsStale = true }
                pieces[ref] = nil
                pieceIndex.remove(ref)
                touched.formUnion([.piece(ref), .catalog])
            }
        }
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
