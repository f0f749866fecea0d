import Foundation
import Testing

/// `fsm gateway`'s bad input, as a user meets it: one line each, never a dump. Addresses: 127.141.30.x.
@Suite struct GatewayCommandLineTests {
    @Test func aMissingCredentialFileOrAMalformedControllerIsOneLine() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let missing = try fsm.run(["gateway", "--controller", "http://127.141.30.1:6060", "--gateway", "httpbin/simple-fsm-gateway",
                                   "--credential-file", scratch.file("nothing")])
        #expect(missing.status == 64)
        #expect(missing.stderr.hasPrefix("Error: --credential-file: pod credential file \(scratch.file("nothing")): cannot read it\n"))
        let credential = try scratch.write("gateway.credential", "token\n")
        let malformed = try fsm.run(["gateway", "--controller", "127.141.30.1:6060", "--gateway", "simple-fsm-gateway", "--credential-file", credential])
        #expect(malformed.status == 64)
        #expect(malformed.stderr.hasPrefix("Error: --controller must be http://host:port and --gateway namespace/name, found '127.141.30.1:6060' and 'simple-fsm-gateway'\n"))
    }

    @Test func aBusyAdminPortIsOneLine() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let credential = try scratch.write("gateway.credential", "token\n")
        let busy = try HeldListener(host: "127.141.30.2")
        defer { busy.close() }
        let outcome = try fsm.run(["gateway", "--controller", "http://127.141.30.1:6060", "--gateway", "httpbin/simple-fsm-gateway",
                                   "--credential-file", credential, "--admin-address", "127.141.30.2", "--admin-port", "\(busy.port)", "--log-level", "critical"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr == "Error: cannot listen on 127.141.30.2:\(busy.port): address already in use (is another gateway running? Give another --admin-port)\n")
    }
}
