import MeshModel

/// Where each service's entries sit in the catalog (every mesh service's outbound), so that an
/// apply that changes a few pieces patches those entries instead of reassembling every piece.
struct CatalogIndex: Sendable {
    struct Entry: Sendable {
        /// Position of the service among the catalog's pieces (sorted services).
        var order: Int
        /// Positions of the piece's matches in `matches`, in the piece's order.
        var matchPositions: [Int]
        /// Names of the piece's clusters when the catalog was assembled or last patched.
        var clusterNames: [String]
    }

    var entries: [ServiceRef: Entry]
    /// Each piece's hash, in catalog order: the catalog hash is computed over them.
    var pieceHashes: [UInt64]
    /// The service whose piece provided each cluster (parallel to `clusters`): the first, in service
    /// order, that has a cluster of that name.
    var clusterOwners: [ServiceRef]
    var clusterPositions: [String: Int]
}

extension OutboundAssembly {
    /// Puts the current pieces of `services` in place of their old entries and re-hashes. Nil, and
    /// nothing changed, when a piece is gone, is not in the catalog, or changed shape (its ports or
    /// cluster names): the catalog must then be reassembled. Same result as reassembling.
    mutating func patch(replacing services: [ServiceRef], pieces: [ServiceRef: ServicePiece]) -> CatalogDelta? {
        guard var index = self.index.take() else { return nil }
        defer { self.index = index }
        for service in services {
            guard let piece = pieces[service], let entry = index.entries[service],
                  entry.matchPositions.count == piece.matches.count,
                  entry.clusterNames.count == piece.clusters.count else { return nil }
            for (k, position) in entry.matchPositions.enumerated() where matches[position].port != piece.matches[k].port { return nil }
            for (k, name) in entry.clusterNames.enumerated() where piece.clusters[k].name != name { return nil }
        }
        var delta = CatalogDelta()
        for service in services {
            let piece = pieces[service]!
            let entry = index.entries[service]!
            for (k, position) in entry.matchPositions.enumerated() where matches[position] != piece.matches[k] {
                matches[position] = piece.matches[k]
                delta.matches.append(position)
            }
            for cluster in piece.clusters {
                guard let position = index.clusterPositions[cluster.name], index.clusterOwners[position] == service,
                      clusters[position] != cluster else { continue }
                clusters[position] = cluster
                delta.clusters.append(position)
            }
            index.pieceHashes[entry.order] = piece.hash
        }
        var hash = ContentHash()
        for pieceHash in index.pieceHashes { hash.add(pieceHash) }
        self.hash = hash.value
        outbound = OutboundConfig(trafficMatches: matches, clustersConfigs: clusters)
        return delta
    }
}
