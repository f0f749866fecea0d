import Foundation
import MeshShell
#if canImport(Glibc)
import Glibc
#endif

/// Making and removing the pod network on this machine (root).
extension PodNetwork {
    /// Refuses a network whose bridge or subnet is already there (another `fsm up --pods netns`,
    /// or a network of the machine's own).
    func checkFree() throws(UpError) {
        if try HostTool.run("ip", ["link", "show", bridge]).status == 0 {
            throw UpError.network("a link named \(bridge) exists already: is another fsm up --pods netns running on this state dir? (`fsm down` removes it)")
        }
        let routes = try HostTool.run("ip", ["-o", "-4", "route", "show", "root", subnet]).output.trimmingCharacters(in: .whitespacesAndNewlines)
        if !routes.isEmpty {
            throw UpError.network("the pod network \(subnet) is already routed on this machine (\(routes.split(separator: "\n")[0])): choose another --first-pod-ip")
        }
    }

    func createBridge() throws(UpError) {
        for arguments in bridgeCommands { try HostTool.require("ip", arguments) }
    }

    func addForwardRule() throws(UpError) {
        try HostTool.require("iptables", ["-w", "-I"] + forwardRuleArguments)
    }

    func createPod(_ link: PodLink) throws(UpError) {
        for arguments in podCommands(link) { try HostTool.require("ip", arguments) }
    }

    /// Removes every recorded piece that exists: processes still in a pod's namespace are killed
    /// (they were started in it by `fsm up`), then the namespaces, veths, bridge and FORWARD rule.
    /// Returns what is still there afterwards (empty when all is gone).
    func teardown() -> [String] {
        for link in pods { killProcesses(in: link.netns) }
        for arguments in teardownCommands { _ = try? HostTool.run("ip", arguments) }
        if forwardRule {
            // Once per copy of the rule (an interrupted `fsm up` adds it at most once).
            while (try? HostTool.run("iptables", ["-w", "-D"] + forwardRuleArguments))?.status == 0 {}
        }
        return leftovers()
    }

    /// Recorded pieces that still exist.
    func leftovers() -> [String] {
        var left: [String] = []
        let namespaces = (try? HostTool.run("ip", ["netns", "list"]))?.output ?? ""
        let present = Set(namespaces.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        left += pods.map(\.netns).filter(present.contains).map { "network namespace \($0)" }
        for name in pods.map(\.hostVeth) + [bridge] where (try? HostTool.run("ip", ["link", "show", name]))?.status == 0 {
            left.append("link \(name)")
        }
        if forwardRule, (try? HostTool.run("iptables", ["-w", "-C"] + forwardRuleArguments))?.status == 0 {
            left.append("iptables rule \(forwardRuleArguments.joined(separator: " "))")
        }
        return left
    }

    private func killProcesses(in netns: String) {
        guard let outcome = try? HostTool.run("ip", ["netns", "pids", netns]), outcome.status == 0 else { return }
        for pid in outcome.output.split(separator: "\n").compactMap({ Int32($0) }) where pid > 1 { kill(pid, SIGKILL) }
    }
}
