/// What an engine holds for traffic in progress: all zero once every connection through the
/// sidecar has closed (anything left is a leak; the sidecar fuzz harness checks it).
package struct SidecarOccupancy: Hashable, Sendable, CustomStringConvertible {
    package var exchanges: Int
    package var upstreamConnections: Int
    package var inboundConnections: Int
    package var outboundTCPConnections: Int

    package static let empty = SidecarOccupancy(exchanges: 0, upstreamConnections: 0, inboundConnections: 0, outboundTCPConnections: 0)

    package var description: String {
        "exchanges \(exchanges), upstream connections \(upstreamConnections), inbound connections \(inboundConnections), outbound TCP connections \(outboundTCPConnections)"
    }
}

extension Sidecar {
    package var occupancy: SidecarOccupancy {
        SidecarOccupancy(exchanges: exchanges.count, upstreamConnections: connections.count,
                         inboundConnections: inboundConnections.count, outboundTCPConnections: outboundTCP.count)
    }
}
