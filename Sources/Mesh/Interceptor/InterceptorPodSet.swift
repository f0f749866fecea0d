/// Which pods an interceptor that follows a directory (`fsm interceptor --pods-dir`) should
/// attach and detach: the attached pods against the desired ones, as actions. A pod whose entry
/// changed is detached and attached again; one that failed to attach stays desired and is tried
/// again at the next reconcile. Pure: the shell carries the actions out and reports back.
public struct InterceptorPodSet: Sendable {
    public enum Action: Hashable, Sendable {
        case attach(InterceptorPod)
        case detach(InterceptorPod)
    }

    /// What is attached now, by address.
    public private(set) var attached: [UInt32: InterceptorPod] = [:]

    public init() {}

    /// Detaches first (pods gone or changed, so an address freed by one pod can be taken by
    /// another), then attaches (new or changed), each in address order.
    public func reconcile(desired: [InterceptorPod]) -> [Action] {
        let wanted = Dictionary(desired.map { ($0.address, $0) }, uniquingKeysWith: { first, _ in first })
        let detaches = attached.values.filter { wanted[$0.address] != $0 }.sorted { $0.address < $1.address }
        let attaches = wanted.values.filter { attached[$0.address] != $0 }.sorted { $0.address < $1.address }
        return detaches.map(Action.detach) + attaches.map(Action.attach)
    }

    /// Records what the shell did.
    public mutating func didAttach(_ pod: InterceptorPod) { attached[pod.address] = pod }
    public mutating func didDetach(_ pod: InterceptorPod) { attached[pod.address] = nil }
}
