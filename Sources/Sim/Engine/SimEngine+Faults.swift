import MeshControl
import MeshModel
import MeshProxy

/// A network partition: pods in different groups cannot reach each other.
struct Partition {
    var id: Int
    /// Group of each pod (by pod index at the time of the fault), -1: not part of it.
    var groups: [Int8]

    @inline(__always)
    func separates(_ a: Int, _ b: Int) -> Bool {
        guard a < groups.count, b < groups.count else { return false }
        let ga = groups[a], gb = groups[b]
        return ga >= 0 && gb >= 0 && ga != gb
    }
}

/// A fault with a duration, to undo when it ends.
struct ActiveFault {
    enum Undo {
        case partition(id: Int)
        case latency(pods: [Int], add: Int64)
        case error(pods: [Int])
    }
    var undo: Undo
    var text: String
}

/// Steps: resource changes through the controller, loads, and faults.
extension SimEngine {
    func runStep(_ index: Int) {
        stepsRemaining -= 1
        let step = scenario.steps[index]
        switch step.action {
        case .apply(let resources):
            var changes: [ResourceChange] = []
            for resource in resources { changes += upsert(resource) }
            applyAtRuntime(changes)
            record("applied \(resources.map { $0.key.description }.joined(separator: ", "))", kind: .change)
        case .delete(let key):
            applyAtRuntime(delete(key))
            record("deleted \(key)", kind: .change)
        case .load:
            if let load = loadForStep[index] { startLoad(load) }
        case .fault(let fault):
            applyFault(fault)
        }
    }

    /// `namespace/deployment` (all its pods), `namespace/pod`, or `namespace` (every pod in it).
    func resolveTarget(_ target: String) -> [Int]? {
        let parts = target.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        if parts.count == 1, !parts[0].isEmpty {
            let inNamespace = pods.indices.filter { pods[$0].key.namespace == parts[0] && !pods[$0].removed }
            return inNamespace.isEmpty ? nil : inNamespace
        }
        guard parts.count == 2 else { return nil }
        if let deployment = deploymentIndex[target] {
            let members = deployments[deployment].pods.filter { !pods[$0].removed }
            return members.isEmpty ? nil : members
        }
        if let pod = podIndex[PodKey(namespace: parts[0], name: parts[1])], !pods[pod].removed { return [pod] }
        return nil
    }

    func applyFault(_ fault: FaultSpec) {
        switch fault {
        case .killPod(let target, let restartAfter):
            guard let targets = resolveTarget(target) else { return record("fault kill-pod: no pod matches \(target)") }
            var changes: [ResourceChange] = []
            for pod in targets where pods[pod].alive {
                takeDown(pod, permanently: false)
                changes.append(.delete(ResourceKey(kind: .pod, namespace: pods[pod].key.namespace, name: pods[pod].key.name)))
                record("killed pod \(podName(pod))", kind: .fault)
                if let restartAfter {
                    pendingFaultTimers += 1
                    queue.schedule(.podRestart(Int32(pod)), at: now + max(0, restartAfter.nanoseconds))
                }
            }
            applyAtRuntime(changes)
        case .sidecarCrash(let target, let restartAfter):
            guard let targets = resolveTarget(target) else { return record("fault sidecar-crash: no pod matches \(target)") }
            for pod in targets { crashSidecar(pod, restartAfter: restartAfter) }
        case .partition(let between, let duration):
            var groups = Array(repeating: Int8(-1), count: pods.count)
            for (group, target) in between.enumerated() {
                guard let members = resolveTarget(target) else { return record("fault partition: no pod matches \(target)") }
                for pod in members { groups[pod] = Int8(truncatingIfNeeded: group) }
            }
            let id = faults.count
            partitions.append(Partition(id: id, groups: groups))
            let text = "partition between \(between.joined(separator: " and "))"
            record(text, kind: .fault)
            scheduleFaultEnd(ActiveFault(undo: .partition(id: id), text: text), after: duration)
        case .latency(let target, let add, let duration):
            guard let members = resolveTarget(target) else { return record("fault latency: no pod matches \(target)") }
            for pod in members { podExtraLatency[pod] += add.nanoseconds }
            let text = "latency +\(add) on \(target)"
            record(text, kind: .fault)
            scheduleFaultEnd(ActiveFault(undo: .latency(pods: members, add: add.nanoseconds), text: text), after: duration)
        case .error(let target, let status, let rate, let duration):
            guard let members = resolveTarget(target) else { return record("fault error: no pod matches \(target)") }
            for pod in members {
                pods[pod].app.faultErrorStatus = status
                pods[pod].app.faultErrorRate = min(max(rate, 0), 1)
            }
            let text = "\(target) answers \(status) to \(formatPercent(rate)) of requests"
            record(text, kind: .fault)
            scheduleFaultEnd(ActiveFault(undo: .error(pods: members), text: text), after: duration)
        }
    }

    private func scheduleFaultEnd(_ fault: ActiveFault, after duration: MeshDuration?) {
        faults.append(fault)
        guard let duration else { return }
        pendingFaultTimers += 1
        queue.schedule(.faultEnd(Int32(faults.count - 1)), at: now + max(0, duration.nanoseconds))
    }

    func endFault(_ index: Int) {
        pendingFaultTimers -= 1
        switch faults[index].undo {
        case .partition(let id):
            partitions.removeAll { $0.id == id }
        case .latency(let members, let add):
            for pod in members { podExtraLatency[pod] -= add }
        case .error(let members):
            for pod in members {
                pods[pod].app.faultErrorStatus = 0
                pods[pod].app.faultErrorRate = 0
            }
        }
        record("ended: \(faults[index].text)", kind: .fault)
    }

    /// Kills a pod: its in-flight work fails, peers' pooled connections to it are reset (they learn
    /// after one network hop), and it leaves the endpoints through the controller.
    func takeDown(_ pod: Int, permanently: Bool) {
        pods[pod].alive = false
        pods[pod].incarnation += 1
        pods[pod].appIncarnation += 1
        if permanently { pods[pod].removed = true }
        worldVersion += 1
        dropConnections(of: pod)
    }

    /// The pod's network side is gone (the pod, or only its sidecar): requests it issued fail now,
    /// peers' pooled connections to it are reset (they learn after one network hop), its own
    /// upstream connections close on the servers, and TCP load connections through it break.
    func dropConnections(of pod: Int) {
        // Requests this pod issued fail now (its client is gone).
        for slot in exchanges.indices where exchanges[slot].id != 0 && Int(exchanges[slot].client) == pod {
            finish(slot: slot, head: HTTPResponseHead(status: 0), server: -1)
        }
        // Sorted: dictionary order must not leak into the run.
        for key in upstreamConnections.keys.sorted() {
            guard let connection = upstreamConnections[key] else { continue }
            let client = Int(key >> 40) - 1
            let raw = key & 0xFF_FFFF_FFFF
            if Int(connection.server) == pod && client != pod {
                queue.schedule(.connectionLost(pod: Int32(client), incarnation: pods[client].incarnation, connection: raw), at: now + sampleLatency())
            } else if client == pod {
                upstreamConnections[key] = nil
                let server = Int(connection.server)
                if connection.acceptedByServer, server >= 0, pods[server].alive, pods[server].hasSidecar,
                   pods[server].incarnation == connection.serverIncarnation {
                    sidecars[server].inboundConnectionClosed(ConnectionID(key))
                    connectionClosed(server)
                }
            }
        }
        for key in directConnections.keys.sorted() where key >> 32 == pod || key & 0xFFFF_FFFF == pod {
            if let connection = directConnections[key], connection.accepted, key >> 32 == pod {
                let server = key & 0xFFFF_FFFF
                if pods[server].alive, pods[server].hasSidecar, pods[server].incarnation == connection.incarnation {
                    sidecars[server].inboundConnectionClosed(ConnectionID(connection.id))
                    connectionClosed(server)
                }
            }
            directConnections[key] = nil
        }
        for index in loads.indices where loads[index].started && !loads[index].finished {
            for worker in loads[index].workers.indices where loads[index].workers[worker].tcpOpen {
                if loads[index].client == pod || loads[index].workers[worker].tcpServer == pod {
                    // tcpClose skips the side that died.
                    tcpClose(index, worker: worker)
                }
            }
        }
        meters[pod].openConnections = 0
    }

    func restartPod(_ pod: Int) {
        pendingFaultTimers -= 1
        guard !pods[pod].alive, !pods[pod].removed else { return }
        pods[pod].alive = true
        pods[pod].incarnation += 1
        pods[pod].appIncarnation += 1
        pods[pod].identity = nil
        // A new pod: its sidecar runs, nothing has probed it yet.
        pods[pod].sidecarDown = false
        pods[pod].probe = nil
        pods[pod].cachedConfig = nil
        pods[pod].probeEpoch = now
        pods[pod].resource.conditions = []
        pods[pod].app = AppState(random: pods[pod].app.random)
        sidecars[pod] = Sidecar()
        worldVersion += 1
        record("restarted pod \(podName(pod))", kind: .fault)
        let update = controller.apply([.upsert(.pod(pods[pod].resource))])
        noteDiagnostics()
        pods[pod].hasSidecar = controller.isMeshed(pods[pod].key)
        if pods[pod].hasSidecar { meters[pod].everMeshed = true } else { startEgressGateway(pod) }
        programOutboundExclusions(pod)
        schedulePush(update)
        startClientLoops(pod)
    }
}

func formatPercent(_ fraction: Double) -> String {
    let value = (fraction * 1000).rounded() / 10
    return value == value.rounded() ? "\(Int(value))%" : "\(value)%"
}
