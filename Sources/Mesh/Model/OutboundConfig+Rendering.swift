import Synchronization

/// Compact JSON of an outbound from its stores' cached pieces: every match's JSON up to its
/// client stamp (`"AllowedEgressTraffic"` and `"ServiceIdentity"`, its last two members) and the
/// clusters' whole map are rendered once per store, so rendering a thousand clients of one
/// catalog writes each client's stamp between copies of shared bytes. The bytes are those of
/// `jsonValue.rendered()`; `OutboundRenderingTests` hold the two paths together.
extension OutboundConfig {
    /// `jsonValue.rendered()` appended to `out`.
    func writeCompact(into out: inout [UInt8]) {
        let fragments = matchStore.cachedFragments()
        let clusters = clusterStore.cachedRendering()
        out.reserveCapacity(out.count + fragments.bytes.count + trafficMatchCount * 96 + clusters.count + 48)
        out.append(contentsOf: #"{"TrafficMatches":"#.utf8)
        if fragments.ports.isEmpty {
            out.append(contentsOf: "null".utf8)
        } else {
            out.append(UInt8(ascii: "{"))
            for (g, group) in fragments.ports.enumerated() {
                if g > 0 { out.append(UInt8(ascii: ",")) }
                JSONValue.writeString(group.key, into: &out)
                out.append(contentsOf: ":[".utf8)
                for (m, index) in group.matches.enumerated() {
                    if m > 0 { out.append(UInt8(ascii: ",")) }
                    out.append(contentsOf: fragments.prefix(index))
                    let stamp = clientStamp ?? ClientStamp(of: matchStore.items[index])
                    out.append(contentsOf: (stamp.allowedEgressTraffic ? "true" : "false").utf8)
                    out.append(contentsOf: #","ServiceIdentity":"#.utf8)
                    JSONValue.writeString(stamp.serviceIdentity, into: &out)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "]"))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(contentsOf: #","ClustersConfigs":"#.utf8)
        out.append(contentsOf: clusters)
        out.append(UInt8(ascii: "}"))
    }

    /// `jsonValue.rendered().utf8.count`, from the stores' cached sizes.
    var renderedByteCount: Int {
        let sizes = matchStore.cachedSizes()
        var matches = JSONValue.null.renderedByteCount
        if !sizes.ports.isEmpty {
            matches = 2 + sizes.ports.count - 1
            let shared = clientStamp.map(Self.stampByteCount)
            for group in sizes.ports {
                matches += JSONValue.quotedByteCount(group.key) + 1 + 2 + group.matches.count - 1
                for index in group.matches {
                    matches += sizes.prefixBytes[index] + (shared ?? Self.stampByteCount(ClientStamp(of: matchStore.items[index])))
                }
            }
        }
        return Self.shellByteCount + matches + clusterStore.cachedByteCount()
    }

    /// `{"TrafficMatches":,"ClustersConfigs":}`: the outbound object without its two values.
    private static let shellByteCount = 2 + 1 + JSONValue.quotedByteCount("TrafficMatches") + 1 + JSONValue.quotedByteCount("ClustersConfigs") + 1

    /// A match's bytes after its prefix: `true,"ServiceIdentity":"<identity>"}`.
    private static func stampByteCount(_ stamp: ClientStamp) -> Int {
        JSONValue.bool(stamp.allowedEgressTraffic).renderedByteCount + 1 + JSONValue.quotedByteCount("ServiceIdentity") + 1
            + JSONValue.quotedByteCount(stamp.serviceIdentity) + 1
    }

    /// `,"AllowedEgressTraffic":`, which ends every match's prefix.
    static let stampKeyBytes = Array(#","AllowedEgressTraffic":"#.utf8)

    /// The matches of one port, under the port as a map key.
    struct PortGroup: Sendable {
        var key: String
        /// Indices of the port's matches, in config order.
        var matches: [Int]

        /// Grouped by port in order of first appearance, then sorted by key as strings: the
        /// order in which `jsonValue` prints them (`JSONValue.sortedMap`).
        static func groups(of matches: [OutboundTrafficMatch]) -> [PortGroup] {
            var groups: [PortGroup] = []
            var slot: [Int: Int] = [:]
            for (index, match) in matches.enumerated() {
                if let existing = slot[match.port] {
                    groups[existing].matches.append(index)
                } else {
                    slot[match.port] = groups.count
                    groups.append(PortGroup(key: String(match.port), matches: [index]))
                }
            }
            return groups.sorted { $0.key < $1.key }
        }
    }

    /// Every match's JSON up to its stamp, concatenated.
    struct MatchFragments: Sendable {
        var bytes: [UInt8] = []
        /// Where each match's prefix ends in `bytes`.
        var ends: [Int] = []
        var ports: [PortGroup] = []

        func prefix(_ index: Int) -> ArraySlice<UInt8> {
            bytes[(index == 0 ? 0 : ends[index - 1])..<ends[index]]
        }
    }

    /// The sizes of `MatchFragments`, without rendering them.
    struct MatchSizes: Sendable {
        var prefixBytes: [Int] = []
        var ports: [PortGroup] = []
    }
}

extension OutboundConfig.MatchStore {
    func cachedFragments() -> OutboundConfig.MatchFragments {
        fragments.withLock { cached in
            if let cached { return cached }
            var result = OutboundConfig.MatchFragments()
            result.ends.reserveCapacity(items.count)
            for match in items {
                match.stampPrefix.write(into: &result.bytes, pretty: false, indent: 0)
                // The object's closing brace gives way to the stamp's first key.
                result.bytes.removeLast()
                result.bytes.append(contentsOf: OutboundConfig.stampKeyBytes)
                result.ends.append(result.bytes.count)
            }
            result.ports = OutboundConfig.PortGroup.groups(of: items)
            cached = result
            return result
        }
    }

    func cachedSizes() -> OutboundConfig.MatchSizes {
        sizes.withLock { cached in
            if let cached { return cached }
            let result = OutboundConfig.MatchSizes(
                prefixBytes: items.map { $0.stampPrefix.renderedByteCount - 1 + OutboundConfig.stampKeyBytes.count },
                ports: OutboundConfig.PortGroup.groups(of: items))
            cached = result
            return result
        }
    }
}

extension OutboundConfig.ClusterStore {
    /// The clusters' JSON map (`ClustersConfigs`), rendered once.
    func cachedRendering() -> [UInt8] {
        rendered.withLock { cached in
            if let cached { return cached }
            var bytes: [UInt8] = []
            OutboundConfig.clustersJSON(items).write(into: &bytes, pretty: false, indent: 0)
            cached = bytes
            return bytes
        }
    }

    func cachedByteCount() -> Int {
        byteCount.withLock { cached in
            if let cached { return cached }
            let count = OutboundConfig.clustersJSON(items).renderedByteCount
            cached = count
            return count
        }
    }
}
