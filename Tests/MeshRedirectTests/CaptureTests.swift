import Foundation
import MeshModel
import MeshRedirect
import MeshTesting
import Testing

/// Real traffic capture: the generated rules applied with iptables-restore inside network
/// namespaces of the test's own, with 198.18.0.0/15 (the benchmark range) as the only
/// "remote" addresses, which never leave those namespaces.
@Suite(
    .serialized,
    .enabled(if: CaptureEnvironment.isAvailable, Comment(rawValue: CaptureEnvironment.unavailableReason ?? "root, iproute2 and iptables are available"))
)
struct CaptureTests {
    static let serviceIP = "198.18.0.10"
    static let appUID = 1001
    static let clientTimeoutMilliseconds = 1000

    let probe: String
    let iptables: String
    let iptablesRestore: String

    init() throws {
        probe = try #require(CaptureEnvironment.probePath(), "redirect-probe was not built next to the tests (swift build --build-tests builds it)")
        iptables = try #require(CaptureEnvironment.tool("iptables"))
        iptablesRestore = try #require(CaptureEnvironment.tool("iptables-restore"))
    }

    /// A pod namespace whose only way out is a veth with nothing behind it: 198.18.0.0/24 is
    /// routable but unanswered, so a connection that is not redirected cannot succeed.
    func makeOutboundPod(_ pod: NetworkNamespace, _ settings: RedirectSettings) throws {
        try pod.ip(["link", "add", "mv0", "type", "veth", "peer", "name", "mv1"])
        try pod.ip(["link", "set", "mv0", "up"])
        try pod.ip(["link", "set", "mv1", "up"])
        try pod.ip(["route", "add", "198.18.0.0/24", "dev", "mv0"])
        try apply(settings, in: pod)
    }

    func apply(_ settings: RedirectSettings, in pod: NetworkNamespace) throws {
        let restored = try pod.exec([iptablesRestore, "--noflush"], input: settings.rules.restoreScript)
        #expect(restored.status == 0, "iptables-restore: \(restored.errorOutput)")
        if restored.status != 0 { throw CommandFailure(description: "iptables-restore failed: \(restored.errorOutput)") }
    }

    typealias Attempt = ProbeAttempt

    /// Listens on `listenPort` in `listenerNamespace`, connects from `clientNamespace` as `uid`,
    /// and returns what both ends saw. The listener keeps waiting until the client has finished
    /// (its standard input is closed then), so a connection the client made is always seen.
    func attempt(listenPort: Int, in listenerNamespace: NetworkNamespace, connectTo ip: String, _ port: Int, from clientNamespace: NetworkNamespace, uid: Int = appUID) throws -> Attempt {
        let listener = try listenerNamespace.start(
            [probe, "listen", String(listenPort), "--accept-timeout-ms", "30000", "--until-stdin-closes", "1"],
            readyLine: "LISTENING"
        )
        try #require(listener.seen.contains("LISTENING"), "listener did not start: \(listener.seen)")
        let client = try clientNamespace.exec([probe, "connect", ip, String(port), "--uid", String(uid), "--timeout-ms", String(Self.clientTimeoutMilliseconds)])
        let seen = Attempt(listener: listener.finish(), client: client.output + client.errorOutput)
        print("capture: \(clientNamespace === listenerNamespace ? "" : "peer -> ")\(ip):\(port) as uid \(uid): client [\(seen.client.trimmingCharacters(in: .whitespacesAndNewlines))], listener on \(listenPort) [\(seen.listener.split(separator: "\n").last ?? "")]")
        return seen
    }

    @Test func applicationTrafficReachesTheOutboundListenerWithItsOriginalDestination() throws {
        try withNamespaces(["outbound"]) { namespaces in
            let pod = namespaces[0]
            try makeOutboundPod(pod, try RedirectSettings())
            let seen = try attempt(listenPort: 15001, in: pod, connectTo: Self.serviceIP, 8080, from: pod)
            #expect(seen.connected)
            #expect(seen.originalDestination == "198.18.0.10:8080")
        }
    }

    @Test func sidecarUIDTrafficIsNotRedirected() throws {
        try withNamespaces(["proxyuid"]) { namespaces in
            let pod = namespaces[0]
            try makeOutboundPod(pod, try RedirectSettings())
            let proxy = try attempt(listenPort: 15001, in: pod, connectTo: Self.serviceIP, 8080, from: pod, uid: 1500)
            #expect(!proxy.connected)
            #expect(proxy.client.contains("CONNECT_FAILED"))
            #expect(proxy.listenerSawNothing)
            #expect(proxy.originalDestination == nil)
            // Same namespace, same rules, another uid: redirected, so the rules were in force.
            let app = try attempt(listenPort: 15001, in: pod, connectTo: Self.serviceIP, 8080, from: pod)
            #expect(app.originalDestination == "198.18.0.10:8080")
        }
    }

    @Test func excludedOutboundPortIsNotRedirected() throws {
        var meshConfig = MeshConfig()
        meshConfig.traffic.outboundPortExclusionList = [6379]
        let settings = try RedirectSettings(meshConfig: meshConfig, podAnnotations: [RedirectSettings.outboundPortExclusionAnnotation: "9090"])
        try withNamespaces(["portexcl"]) { namespaces in
            let pod = namespaces[0]
            try makeOutboundPod(pod, settings)
            for port in [9090, 6379, 15010] {
                let excluded = try attempt(listenPort: 15001, in: pod, connectTo: Self.serviceIP, port, from: pod)
                #expect(!excluded.connected, "port \(port)")
                #expect(excluded.listenerSawNothing, "port \(port)")
            }
            let other = try attempt(listenPort: 15001, in: pod, connectTo: Self.serviceIP, 8080, from: pod)
            #expect(other.originalDestination == "198.18.0.10:8080")
        }
    }

    @Test func inclusionListRedirectsOnlyItsRangesAndExclusionWins() throws {
        let settings = try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [
            RedirectSettings.outboundIPRangeInclusionAnnotation: "198.18.0.0/25",
            RedirectSettings.outboundIPRangeExclusionAnnotation: "198.18.0.32/27",
        ])
        try withNamespaces(["inclusion"]) { namespaces in
            let pod = namespaces[0]
            try makeOutboundPod(pod, settings)
            let included = try attempt(listenPort: 15001, in: pod, connectTo: "198.18.0.10", 8080, from: pod)
            #expect(included.originalDestination == "198.18.0.10:8080")
            let outside = try attempt(listenPort: 15001, in: pod, connectTo: "198.18.0.200", 8080, from: pod)
            #expect(outside.listenerSawNothing && !outside.connected)
            let excluded = try attempt(listenPort: 15001, in: pod, connectTo: "198.18.0.40", 8080, from: pod)
            #expect(excluded.listenerSawNothing && !excluded.connected)
        }
    }

    /// Inbound: a peer namespace reaches the pod over a veth; PREROUTING sends the connection to
    /// the inbound listener unless its port is reserved or excluded.
    @Test func inboundTrafficReachesTheInboundListenerExceptExcludedPorts() throws {
        let settings = try RedirectSettings(meshConfig: MeshConfig(), podAnnotations: [RedirectSettings.inboundPortExclusionAnnotation: "7070"])
        try withNamespaces(["inpod", "inpeer"]) { namespaces in
            let (pod, peer) = (namespaces[0], namespaces[1])
            try pod.ip(["link", "add", "vpod", "type", "veth", "peer", "name", "vpeer"])
            try pod.ip(["link", "set", "vpeer", "netns", peer.name])
            try pod.ip(["addr", "add", "198.18.1.1/24", "dev", "vpod"])
            try pod.ip(["link", "set", "vpod", "up"])
            try peer.ip(["addr", "add", "198.18.1.2/24", "dev", "vpeer"])
            try peer.ip(["link", "set", "vpeer", "up"])
            try apply(settings, in: pod)

            let captured = try attempt(listenPort: 15003, in: pod, connectTo: "198.18.1.1", 8080, from: peer)
            #expect(captured.connected)
            #expect(captured.originalDestination == "198.18.1.1:8080")
            for port in [7070, 15010] {
                // Nothing listens on the excluded port itself, so the pod refuses it.
                let bypassed = try attempt(listenPort: 15003, in: pod, connectTo: "198.18.1.1", port, from: peer)
                #expect(bypassed.listenerSawNothing, "port \(port)")
                #expect(bypassed.client.contains("CONNECT_FAILED Connection refused"), "port \(port)")
            }
        }
    }

    /// The restore script and the list of iptables commands program identical nat tables, and
    /// the kernel accepts every knob.
    @Test func restoreScriptAndCommandsProgramTheSameTable() throws {
        var meshConfig = MeshConfig()
        meshConfig.traffic.outboundIPRangeExclusionList = ["10.96.0.0/12"]
        meshConfig.traffic.outboundPortExclusionList = [6379]
        let settings = try RedirectSettings(meshConfig: meshConfig, podAnnotations: [
            RedirectSettings.outboundIPRangeInclusionAnnotation: "10.0.0.0/8,172.16.0.0/12",
            RedirectSettings.outboundPortExclusionAnnotation: "7070",
            RedirectSettings.inboundPortExclusionAnnotation: (20001...20017).map(String.init).joined(separator: ","),
        ], proxyUID: 1501)
        try withNamespaces(["restore", "commands"]) { namespaces in
            try apply(settings, in: namespaces[0])
            for command in settings.rules.iptablesCommands {
                let result = try namespaces[1].exec([iptables] + command.dropFirst())
                #expect(result.status == 0, "\(command.joined(separator: " ")): \(result.errorOutput)")
            }
            let fromScript = try namespaces[0].exec([iptables, "-t", "nat", "-S"])
            let fromCommands = try namespaces[1].exec([iptables, "-t", "nat", "-S"])
            #expect(fromScript.status == 0)
            #expect(fromScript.output == fromCommands.output)
            let listed = fromScript.output.split(separator: "\n")
            #expect(listed.filter { $0.hasPrefix("-A ") }.count == settings.rules.rules.count)
            for chain in RedirectRules.chains { #expect(listed.contains("-N \(chain)")) }
            #expect(listed.contains("-A PROXY_REDIRECT -p tcp -j REDIRECT --to-ports 15001"))
            #expect(listed.contains("-A PROXY_OUTPUT -m owner --uid-owner 1501 -j RETURN"))
        }
    }
}
