import ArgumentParser
import Foundation
import Glibc
import MeshShell
import MeshSidecarCommand

/// `kubectl port-forward pod/POD -n NS :PORT` as a child process: the local address comes from
/// its `Forwarding from HOST:LOCAL -> PORT` line; `stop()` ends it.
final class KubectlPortForward: Sendable {
    private let process: SpawnedProcess
    private let description: String

    private init(process: SpawnedProcess, description: String) {
        self.process = process
        self.description = description
    }

    static func start(kubectl: String, pod: String, namespace: String, port: Int, kubeconfig: String?, context: String?) throws -> KubectlPortForward {
        var arguments = [kubectl, "port-forward", "pod/\(pod)", "-n", namespace, ":\(port)", "--address", "127.0.0.1"]
        if let kubeconfig { arguments += ["--kubeconfig", kubeconfig] }
        if let context { arguments += ["--context", context] }
        let process: SpawnedProcess
        do {
            process = try SpawnedProcess.spawn(ProcessLaunch("/usr/bin/env", arguments, standardOutput: .pipe, standardError: .standardOutput))
        } catch {
            throw CommandFailure("cannot run \(kubectl): \(error.reason); fsm proxy get POD port-forwards with kubectl (give --kubectl PATH), or give --admin HOST:PORT")
        }
        return KubectlPortForward(process: process, description: "\(kubectl) port-forward pod/\(pod) -n \(namespace)")
    }

    /// The local host and port once kubectl reports forwarding; its own message when it exits
    /// first; a timeout error (kubectl is stopped) when it says nothing in time.
    func localAddress(within limit: Duration) async throws -> (host: String, port: Int) {
        let deadline = ContinuousClock.now + limit
        var text = ""
        while true {
            switch process.standardOutput?.read() ?? .end {
            case .bytes(let chunk):
                text += String(decoding: chunk, as: UTF8.self)
                if let address = Self.forwardingAddress(in: text) { return address }
            case .nothingYet:
                guard ContinuousClock.now < deadline else {
                    stop()
                    throw CommandFailure("\(description) did not start forwarding within \(limit)")
                }
                try await Task.sleep(for: .milliseconds(20))
            case .end:
                let termination = await process.exit(within: .seconds(5)) ?? process.terminate()
                let reason = Self.firstLine(text).isEmpty ? termination.description : Self.firstLine(text)
                throw CommandFailure("\(description) ended: \(reason)")
            }
        }
    }

    /// `Forwarding from 127.0.0.1:40123 -> 15000` → (127.0.0.1, 40123).
    static func forwardingAddress(in text: String) -> (host: String, port: Int)? {
        for line in text.split(separator: "\n") where line.hasPrefix("Forwarding from ") {
            let address = line.dropFirst("Forwarding from ".count).split(separator: " ").first ?? ""
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else { continue }
            let host = address[..<colon].trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            return (host, port)
        }
        return nil
    }

    static func firstLine(_ text: String) -> String {
        text.split(separator: "\n").first.map(String.init) ?? ""
    }

    /// Kills it (SIGKILL: a port-forward holds nothing to flush).
    func stop() {
        guard process.isRunning else { return }
        process.send(SIGKILL)
        process.wait()
    }
}
