import Foundation
import MeshShell
import MeshTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `fsm` as a user runs it: a sidecar that is not there, a port that is taken, manifests that do
/// not hold together; one line each, never a NIO error dump. Addresses: 127.97.0.x, with ephemeral
/// ports; the sidecar, whose other ports are fixed, on a leased block (`TestAddressBlock.suite`).
@Suite struct FSMCommandTests {
    @Test func proxyGetWithNoSidecarThere() throws {
        let fsm = try BuiltCommand("fsm")
        let outcome = try fsm.run(["proxy", "get", "stats", "--admin", "127.0.0.1:1"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr == "Error: cannot connect to 127.0.0.1:1 (connection refused): is the sidecar running? Give its admin address with --admin HOST:PORT (default 127.0.0.1:15000)\n")
    }

    @Test func controllerOnABusyPort() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let busy = try HeldListener(host: "127.97.0.1")
        defer { busy.close() }
        let outcome = try fsm.run(["controller", "--manifests", scratch.path, "--state-dir", scratch.path + "/state", "--listen", "127.97.0.1:\(busy.port)",
                                   "--log-level", "critical"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr == "Error: cannot listen on 127.97.0.1:\(busy.port): address already in use (another fsm controller or fsm up? Stop it or give --listen another address)\n")
    }

    @Test func sidecarOnABusyPort() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let config = try scratch.write("config.json", #"{"Spec": {"ServiceIdentity": "web.shop.cluster.local"}}"#)
        let host = try TestAddressBlock.suite("FSMCommandTests").address(4)
        let busy = try HeldListener(host: host)
        defer { busy.close() }
        let outcome = try fsm.run(["sidecar", "--config", config, "--pod-ip", host, "--outbound-port", "\(busy.port)",
                                   "--insecure-plaintext-peers", "--log-level", "critical"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr == "Error: cannot listen on \(host) (ports \(busy.port), 15003, 15000): address already in use (is another sidecar running for this pod IP? Stop it or give --pod-ip another address)\n")
    }

    @Test func upOnABusyPortStartsNothing() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let busy = try HeldListener(host: "127.97.0.2")
        defer { busy.close() }
        let outcome = try fsm.run(["up", "--manifests", Self.samples(), "--state-dir", scratch.file("state"),
                                   "--controller-listen", "127.97.0.2:\(busy.port)", "--first-pod-ip", "127.97.1.10", "--first-service-ip", "127.97.2.10"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("error: cannot listen on 127.97.0.2:\(busy.port) (the controller): address already in use; nothing was started (another fsm up or controller? `fsm down --state-dir DIR` stops an fsm up; --controller-listen and --first-pod-ip choose other addresses)\n"))
        #expect(!outcome.stderr.contains("bind("))
        #expect(!FileManager.default.fileExists(atPath: scratch.file("state/up.json")))
    }

    @Test func upNamesBothPlacesOfAResourceDefinedTwice() throws {
        let fsm = try BuiltCommand("fsm")
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{port: 80}]\n"
        let a = try scratch.write("a.yaml", service)
        let b = try scratch.write("b.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n" + service)
        let outcome = try fsm.run(["up", "--manifests", scratch.path, "--state-dir", scratch.file("state"),
                                   "--controller-listen", "127.97.0.3:0", "--first-pod-ip", "127.97.1.10", "--first-service-ip", "127.97.2.10"])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.hasSuffix("error: the manifests do not decode; nothing was started:\n\(b):5:1: Service shop/web is already defined at \(a):1:1\n"))
    }

    /// deploy/samples/bookstore of this package.
    static func samples(filePath: String = #filePath) -> String {
        URL(fileURLWithPath: filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("deploy/samples/bookstore").path
    }
}

/// A TCP listener held open by the test on `host` and a free port, so that a command finds the port taken.
struct HeldListener {
    let fd: Int32
    let port: Int

    init(host: String) throws {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        inet_pton(AF_INET, host, &address.sin_addr)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let listening = bound == 0 && listen(socketFD, 1) == 0
        let code = errno
        try #require(listening, "cannot listen on \(host): errno \(code)")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socketFD, $0, &length) }
        }
        fd = socketFD
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
