import MeshProxy

/// A gateway's HealthCheckPolicy probes in the virtual cluster: a `GET path` (or, for a TCP
/// check, a request whose answer only shows the connection opened) from the gateway pod to the
/// endpoint, straight, as its mirrors go; the endpoint's app answers it as any request (its
/// counters see it). How it ended goes back to the gateway's engine, which keeps the deadline.
extension SimEngine {
    func sendHealthProbe(_ probe: HealthProbe, from gateway: Int) {
        let head = HTTPRequestHead(method: "GET", path: probe.path ?? "/", authority: probe.endpoint.description, headers: [])
        issueHTTP(origin: .healthProbe(gateway: Int32(gateway), probe: probe.id.rawValue, tcp: probe.path == nil), client: gateway, head: head,
                  destination: probe.endpoint, measuredFrom: now)
    }

    func healthProbeFinished(gateway: Int, probe: HealthProbeID, tcp: Bool, head: HTTPResponseHead, body: Int32) {
        guard pods[gateway].alive else { return }
        let outcome: HealthProbeOutcome = if head.status == 0 {
            .failed
        } else if tcp {
            .connected
        } else {
            .answered(status: head.status, headers: head.headers, body: body >= 0 && Int(body) < bodyTexts.count ? bodyTexts[Int(body)] : "")
        }
        perform(sidecars[gateway].healthProbeEnded(probe, outcome), at: gateway)
    }
}
