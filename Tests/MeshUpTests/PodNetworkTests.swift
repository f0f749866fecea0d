import Foundation
import MeshUp
import Testing

/// The pod network `fsm up --pods netns` plans (pure): names of its own per state dir, the
/// gateway on the pods' /24, each pod's namespace and veth, and a teardown that names every piece.
@Suite struct PodNetworkTests {
    @Test func thePlanPutsTheGatewayOnThePodsSlash24() throws {
        let network = try PodNetwork.plan(stateDirectory: "/tmp/a", firstPodIP: "10.244.9.10", podCount: 5, firstServiceIP: "10.96.9.10").get()
        #expect(network.gateway == "10.244.9.1")
        #expect(network.subnet == "10.244.9.0/24")
        #expect(network.bridge == "fsm-\(network.tag)")
        #expect(network.tag.count == 6)
        #expect(network.bridgeCommands.first == ["link", "add", network.bridge, "type", "bridge"])
        #expect(network.bridgeCommands.contains(["addr", "add", "10.244.9.1/24", "dev", network.bridge]))
    }

    @Test func twoStateDirsGetDifferentNames() throws {
        #expect(PodNetwork.tag(stateDirectory: "/tmp/a") != PodNetwork.tag(stateDirectory: "/tmp/b"))
        #expect(PodNetwork.tag(stateDirectory: "/tmp/a") == PodNetwork.tag(stateDirectory: "/tmp/a"))
    }

    @Test(arguments: [
        ("10.244.9.250", 10, "10.96.9.10", "do not fit in 10.244.9.0/24"),
        ("10.244.9.1", 1, "10.96.9.10", "do not fit"),
        ("10.244.9.10", 2, "10.244.9.200", "is in the pod network"),
        ("ten", 2, "10.96.9.10", "must be IPv4 addresses"),
    ])
    func aPlanThatCannotWorkSaysWhy(_ firstPod: String, _ count: Int, _ firstService: String, _ reason: String) {
        switch PodNetwork.plan(stateDirectory: "/tmp/a", firstPodIP: firstPod, podCount: count, firstServiceIP: firstService) {
        case .success(let network): Issue.record("planned \(network)")
        case .failure(let problem): #expect(problem.description.contains(reason), "\(problem)")
        }
    }

    @Test func aPodJoinsTheBridgeWithADefaultRouteThroughTheGateway() throws {
        let network = try PodNetwork.plan(stateDirectory: "/tmp/a", firstPodIP: "10.244.9.10", podCount: 2, firstServiceIP: "10.96.9.10").get()
        let link = network.link(pod: "bookstore/bookstore-0", ip: "10.244.9.11", index: 1)
        #expect(link.netns == "fsm-\(network.tag)-bookstore-bookstore-0")
        #expect(link.hostVeth == "fsm-\(network.tag)-1")
        // Linux interface names have at most 15 characters.
        #expect(network.link(pod: "a/b", ip: "10.244.9.254", index: 244).hostVeth.count <= 15)
        let commands = network.podCommands(link)
        #expect(commands.first == ["netns", "add", link.netns])
        #expect(commands.contains(["link", "set", link.hostVeth, "master", network.bridge]))
        #expect(commands.contains(["-n", link.netns, "addr", "add", "10.244.9.11/24", "dev", "eth0"]))
        #expect(commands.last == ["-n", link.netns, "route", "add", "default", "via", "10.244.9.1"])
    }

    @Test func teardownNamesEveryRecordedPiece() throws {
        var network = try PodNetwork.plan(stateDirectory: "/tmp/a", firstPodIP: "10.244.9.10", podCount: 2, firstServiceIP: "10.96.9.10").get()
        network.pods = [network.link(pod: "a/p-0", ip: "10.244.9.10", index: 0), network.link(pod: "b/q-0", ip: "10.244.9.11", index: 1)]
        let commands = network.teardownCommands
        #expect(commands.filter { $0.prefix(2) == ["netns", "delete"] }.map { $0[2] } == network.pods.map(\.netns))
        #expect(commands.last == ["link", "delete", network.bridge])
        #expect(network.forwardRuleArguments.first == "FORWARD")
        #expect(network.forwardRuleArguments.contains("fsm up \(network.tag)"))
        // Recorded in the state as it is made, so a state read back tears down the same pieces.
        let decoded = try JSONDecoder().decode(PodNetwork.self, from: JSONEncoder().encode(network))
        #expect(decoded == network)
    }
}
