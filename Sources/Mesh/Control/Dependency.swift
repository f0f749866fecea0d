import MeshModel

/// A piece of controller input that a computed result (a service's outbound piece, a proxy
/// group's config) read. Resource changes touch dependencies; only results that read a touched
/// dependency are recomputed.
enum Dependency: Hashable, Sendable {
    case meshConfig
    /// The set of mesh services and every one of their outbound pieces (permissive clients read it).
    case catalog
    case serviceSpec(ServiceRef)
    case serviceEndpoints(ServiceRef)
    case upstreamSetting(ServiceRef)
    /// TrafficSplits naming the service as root or backend.
    case splits(ServiceRef)
    /// The outbound piece of a service changed content.
    case piece(ServiceRef)
    /// The services whose pods run as an identity.
    case identityServices(String)
    /// TrafficTargets and Retries with the identity as a source.
    case sourcePolicies(String)
    /// TrafficTargets with the identity as destination.
    case destinationPolicies(String)
    case routeSpec(ResourceKey)
    /// The IngressBackends of a namespace (who outside the mesh may reach its services).
    case ingressBackends(String)
    /// The AccessControls of a namespace.
    case accessControls(String)
    /// The Egresses naming an identity as a source.
    case egressPolicies(String)
    /// The EgressGateways (every meshed pod reads the mesh's gateway).
    case egressGateway
}

extension Dependency {
    /// Whether touching this can change a TrafficSplit's validity: `ClusterState.resolve` reads
    /// the splits, which services exist and which namespaces are monitored (pods and endpoints
    /// never matter to it).
    var canChangeSplitProblems: Bool {
        switch self {
        case .meshConfig, .catalog, .serviceSpec, .splits: true
        case .serviceEndpoints, .upstreamSetting, .piece, .identityServices, .sourcePolicies, .destinationPolicies, .routeSpec, .ingressBackends, .accessControls, .egressPolicies, .egressGateway: false
        }
    }
}

/// Who read which dependency, in both directions.
struct DependencyIndex<Owner: Hashable & Sendable>: Sendable {
    private var dependents: [Dependency: Set<Owner>] = [:]
    private var dependencies: [Owner: Set<Dependency>] = [:]

    mutating func set(_ new: Set<Dependency>, for owner: Owner) {
        let old = dependencies[owner] ?? []
        dependencies[owner] = new
        // A new owner (every one of a full apply), or one that read the same as before: no set differences to build.
        if old.isEmpty {
            for dependency in new { dependents[dependency, default: []].insert(owner) }
            return
        }
        if old == new { return }
        for dependency in old.subtracting(new) { dependents[dependency]?.remove(owner) }
        for dependency in new.subtracting(old) { dependents[dependency, default: []].insert(owner) }
    }

    mutating func remove(_ owner: Owner) {
        for dependency in dependencies[owner] ?? [] { dependents[dependency]?.remove(owner) }
        dependencies[owner] = nil
    }

    func owners(readingAnyOf touched: Set<Dependency>) -> Set<Owner> {
        var result = Set<Owner>()
        for dependency in touched { if let owners = dependents[dependency] { result.formUnion(owners) } }
        return result
    }
}

/// FNV-1a 64: a content hash that is the same on every run and platform (unlike `Hasher`).
struct ContentHash: Sendable {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        var text = text
        // Over the contiguous UTF-8 buffer: faster than the UTF8View iterator, same bytes.
        text.withUTF8 { bytes in
            var value = self.value
            for byte in bytes {
                value ^= UInt64(byte)
                value = value &* 0x0000_0100_0000_01b3
            }
            self.value = value
        }
        mix(0xff) // separator: "ab"+"c" differs from "a"+"bc"
    }

    mutating func add(_ number: UInt64) {
        var n = number
        for _ in 0..<8 { mix(UInt8(truncatingIfNeeded: n)); n >>= 8 }
    }

    private mutating func mix(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01b3
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
