import MeshProxy
import NIOCore

/// The engine's gateway HTTP entry as the driver calls it: the request of exchange `id` on a
/// gateway listener (`origin`) from `source`, answered with the same actions as an outbound
/// request (send, respond, timers), which the driver carries out as it does a sidecar's.
typealias GatewayHTTPEntry = (_ engine: inout Sidecar, _ id: ExchangeID, _ head: MeshProxy.HTTPRequestHead, _ origin: GatewayRequestOrigin,
                              _ source: MeshProxy.SocketAddress, _ now: MeshInstant, _ random: inout SystemRandomNumberGenerator) -> [OutboundHTTPAction]

extension SidecarDriver {
    /// A request on a gateway listener: the engine's gateway entry routes it.
    func gatewayRequest(_ id: ExchangeID, head: MeshProxy.HTTPRequestHead, origin: GatewayRequestOrigin, from downstream: OutboundDownstreamHandler) -> [OutboundHTTPAction] {
        let source = downstream.remoteAddress
        guard let gatewayEntry else {
            // A gateway process always sets the entry; without one nothing may route the request.
            return [.respond(id, MeshProxy.HTTPResponseHead(status: 503), local: .noRoute, flags: .noRoute)]
        }
        return gatewayEntry(&engine, id, head, origin, source, now(), &generator)
    }

    /// Whether an upstream connection for `cluster` goes to the endpoint itself, without the
    /// mesh's headers: egress clusters, and every cluster of a gateway (it reaches backends at
    /// their own address and port, as FSM Gateway does for pods outside the mesh).
    func dialsDirectly(_ cluster: String) -> Bool {
        gatewayEntry != nil || Sidecar.isEgressCluster(cluster)
    }
}
