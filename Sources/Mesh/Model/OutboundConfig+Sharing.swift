import Synchronization

extension OutboundConfig {
    /// Outbound traffic matches held once for every config that lists them. Immutable; what is
    /// derived from the matches alone (their JSON, their rendered sizes) is worked out on first
    /// use and kept here, so configs sharing the store share that work too.
    final class MatchStore: Sendable {
        let items: [OutboundTrafficMatch]
        let sizes = Mutex<MatchSizes?>(nil)
        let fragments = Mutex<MatchFragments?>(nil)

        init(_ items: [OutboundTrafficMatch]) {
            self.items = items
        }
    }

    /// Outbound clusters held once for every config that lists them, with their JSON once rendered.
    final class ClusterStore: Sendable {
        let items: [ClusterConfig]
        let byteCount = Mutex<Int?>(nil)
        let rendered = Mutex<[UInt8]?>(nil)

        init(_ items: [ClusterConfig]) {
            self.items = items
        }
    }

    /// The client's part of every outbound traffic match: who sends, and whether egress is allowed.
    struct ClientStamp: Hashable, Sendable {
        var serviceIdentity: String
        var allowedEgressTraffic: Bool

        init(serviceIdentity: String, allowedEgressTraffic: Bool) {
            self.serviceIdentity = serviceIdentity
            self.allowedEgressTraffic = allowedEgressTraffic
        }

        /// The stamp a match carries itself.
        init(of match: OutboundTrafficMatch) {
            self.init(serviceIdentity: match.serviceIdentity, allowedEgressTraffic: match.allowedEgressTraffic)
        }

        func applied(to match: OutboundTrafficMatch) -> OutboundTrafficMatch {
            var match = match
            match.serviceIdentity = serviceIdentity
            match.allowedEgressTraffic = allowedEgressTraffic
            return match
        }
    }
}

extension OutboundConfig {
    /// The same outbound with `serviceIdentity` and `allowedEgressTraffic` set in every traffic
    /// match. The matches and clusters are not copied: the result shares this value's stores
    /// (and whatever has been worked out from them), so a catalog stamped for a thousand clients
    /// is held once.
    public func stamped(serviceIdentity: String, allowedEgressTraffic: Bool) -> OutboundConfig {
        var result = self
        result.clientStamp = ClientStamp(serviceIdentity: serviceIdentity, allowedEgressTraffic: allowedEgressTraffic)
        return result
    }

    public var trafficMatchCount: Int { matchStore.items.count }

    /// The traffic match at `index`, with the client's stamp written in.
    public func trafficMatch(at index: Int) -> OutboundTrafficMatch {
        let match = matchStore.items[index]
        return clientStamp?.applied(to: match) ?? match
    }

    /// Visits every traffic match (stamp written in) without building the array.
    public func forEachTrafficMatch(_ body: (OutboundTrafficMatch) throws -> Void) rethrows {
        for match in matchStore.items { try body(clientStamp?.applied(to: match) ?? match) }
    }

    /// Identifies the stored matches and clusters. Configs with equal keys have equal outbound
    /// tables apart from the client's stamp (identity and egress flag), which no proxy table
    /// depends on; so what is derived from those tables can be shared under this key. The key
    /// holds the stores, so no other store can take their identity while it lives.
    public var storageKey: StorageKey { StorageKey(matches: matchStore, clusters: clusterStore) }

    public struct StorageKey: Hashable, Sendable {
        fileprivate let matches: MatchStore
        fileprivate let clusters: ClusterStore

        public static func == (a: StorageKey, b: StorageKey) -> Bool {
            a.matches === b.matches && a.clusters === b.clusters
        }

        public func hash(into hasher: inout Hasher) {
            hasher.combine(ObjectIdentifier(matches))
            hasher.combine(ObjectIdentifier(clusters))
        }
    }

    /// Equal when the matches (as read, stamp written in) and the clusters are equal; configs
    /// sharing their stores and stamp compare without visiting them.
    public static func == (a: OutboundConfig, b: OutboundConfig) -> Bool {
        guard a.clusterStore === b.clusterStore || a.clusterStore.items == b.clusterStore.items else { return false }
        if a.matchStore === b.matchStore, a.clientStamp == b.clientStamp { return true }
        guard a.trafficMatchCount == b.trafficMatchCount else { return false }
        for index in 0..<a.trafficMatchCount where a.trafficMatch(at: index) != b.trafficMatch(at: index) { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(trafficMatchCount)
        forEachTrafficMatch { hasher.combine($0) }
        hasher.combine(clusterStore.items)
    }
}
