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

    /// `--config FILE` (a fixed GatewayConfig) instead of the controller: exactly one source, and a
    /// file that cannot be used stops the start with one line naming the file and the field.
    @Test func aConfigFileIsTheOnlySourceAndABadOneIsOneLine() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let neither = try fsm.run(["gateway"])
        #expect(neither.status == 64)
        #expect(neither.stderr.hasPrefix("Error: give --controller URL --gateway NAMESPACE/NAME --credential-file FILE, or --config FILE\n"))
        let both = try fsm.run(["gateway", "--config", scratch.file("gw.json"), "--controller", "http://127.141.30.1:6060"])
        #expect(both.status == 64)
        #expect(both.stderr.hasPrefix("Error: --config and --controller/--gateway/--credential-file exclude each other\n"))
        let missing = try fsm.run(["gateway", "--config", scratch.file("nothing.json")])
        #expect(missing.status == 1)
        #expect(missing.stderr == "Error: --config \(scratch.file("nothing.json")): no such file\n", "\(missing.stderr)")
        let wrongType = try scratch.write("gw.json", #"{"gateway": "edge/gw", "version": "1", "listeners": [{"name": "web", "port": "80"}]}"#)
        let decoded = try fsm.run(["gateway", "--config", wrongType])
        #expect(decoded.status == 1)
        #expect(decoded.stderr == "Error: --config \(wrongType): not a gateway config: listeners[0].port: expected Int\n", "\(decoded.stderr)")
        let cut = try scratch.write("cut.json", #"{"gateway": "edge/gw", "listeners": [{"name": "web""#)
        let unparsed = try fsm.run(["gateway", "--config", cut])
        #expect(unparsed.status == 1)
        #expect(unparsed.stderr == "Error: --config \(cut): not a gateway config: invalid JSON at byte 51: unexpected end of text in an object\n", "\(unparsed.stderr)")
    }
}
