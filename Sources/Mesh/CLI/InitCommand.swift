import ArgumentParser
import Foundation
import MeshInject
import MeshRedirect
import MeshRuntime

/// `fsm init`: what the injected `fsm-init` container runs. Renders MeshRedirect's nat rules for
/// the pod (the lists the webhook merged from MeshConfig and the pod's annotations) and loads them
/// into the pod's network namespace with `iptables-restore --noflush`; `--dry-run` prints them.
struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Program a pod's traffic capture (iptables nat rules sending its TCP through the sidecar), as the injected init container does.",
        discussion: "Lists are comma-separated. Needs root (CAP_NET_ADMIN) in the pod's network namespace unless --dry-run."
    )

    @Option(name: .customLong("outbound-ip-range-exclusion-list"), help: "Outbound destinations (CIDR) never redirected.")
    var outboundIPRangeExclusionList: String?

    @Option(name: .customLong("outbound-ip-range-inclusion-list"), help: "When given, only outbound destinations (CIDR) in these ranges are redirected.")
    var outboundIPRangeInclusionList: String?

    @Option(name: .customLong("outbound-port-exclusion-list"), help: "Outbound destination ports never redirected.")
    var outboundPortExclusionList: String?

    @Option(name: .customLong("inbound-port-exclusion-list"), help: "Inbound ports never redirected.")
    var inboundPortExclusionList: String?

    @Option(help: "The sidecar's uid: its own connections are not redirected.")
    var proxyUID = RedirectSettings.defaultProxyUID

    @Flag(help: "Print the iptables-restore input instead of applying it.")
    var dryRun = false

    func rules() throws -> RedirectRules {
        do {
            let arguments = try InitArguments(outboundIPRangeExclusionList: outboundIPRangeExclusionList, outboundIPRangeInclusionList: outboundIPRangeInclusionList,
                                              outboundPortExclusionList: outboundPortExclusionList, inboundPortExclusionList: inboundPortExclusionList)
            return try arguments.redirectSettings(proxyUID: proxyUID).rules
        } catch {
            throw ValidationError("\(error)")
        }
    }

    func run() throws {
        let rules = try rules()
        if dryRun {
            print(rules.restoreScript, terminator: "")
            return
        }
        do {
            try IptablesCapture.apply(rules)
        } catch {
            FileHandle.standardError.write(Data("fsm init: \(error)\n".utf8))
            throw ExitCode.failure
        }
        print("traffic capture programmed: \(rules.rules.count) rules in chains \(RedirectRules.chains.joined(separator: ", "))")
    }
}
