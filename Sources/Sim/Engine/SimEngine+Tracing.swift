import MeshModel
import MeshProxy

/// Tracing in the virtual cluster: the sidecars decide and record spans as the real ones do; the
/// simulator is their collector (`SpanLog`) and its app models forward a request's trace on the
/// calls it causes, as the guides ask apps to (4.2).
extension SimEngine {
    /// A finished exchange of a load or a client loop may become its source's sample trace.
    func noteTraced(_ exchange: Exchange) {
        guard spanLog.enabled else { return }
        switch exchange.origin {
        case .load(let load, _):
            spanLog.noteFinished(source: loads[Int(load)].spec.name, head: exchange.head)
        case .clientLoop(let pod, _, _):
            spanLog.noteFinished(source: deployments[pods[Int(pod)].deployment].name, head: exchange.head)
        case .fireAndForget, .egressTunnel, .healthProbe:
            break
        }
    }

    func traceSummary() -> TraceSummary? {
        spanLog.summary(configured: sidecars.contains { $0.config?.spec.tracing != nil })
    }
}
