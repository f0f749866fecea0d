import ArgumentParser
import Foundation
import MeshSidecarCommand

/// `kubectl port-forward pod/POD -n NS :PORT` as a child process: the local address comes from
/// its `Forwarding from HOST:LOCAL -> PORT` line; `stop()` ends it.
final class KubectlPortForward: @unchecked Sendable {
    private let process: Process
    private let output: Pipe
    private let description: String

    private init(process: Process, output: Pipe, description: String) {
        self.process = process
        self.output = output
        self.description = description
    }

    static func start(kubectl: String, pod: String, namespace: String, port: Int, kubeconfig: String?, context: String?) throws -> KubectlPortForward {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        var arguments = [kubectl, "port-forward", "pod/\(pod)", "-n", namespace, ":\(port)", "--address", "127.0.0.1"]
        if let kubeconfig { arguments += ["--kubeconfig", kubeconfig] }
        if let context { arguments += ["--context", context] }
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        do {
            try process.run()
        } catch {
            throw CommandFailure("cannot run \(kubectl): \(error.localizedDescription); fsm proxy get POD port-forwards with kubectl (give --kubectl PATH), or give --admin HOST:PORT")
        }
        return KubectlPortForward(process: process, output: output, description: "\(kubectl) port-forward pod/\(pod) -n \(namespace)")
    }

    /// The local host and port once kubectl reports forwarding; its own message when it exits
    /// first; a timeout error (kubectl is stopped) when it says nothing in time.
    func localAddress(within limit: Duration) async throws -> (host: String, port: Int) {
        let timer = Task { [process] in
            try? await Task.sleep(for: limit)
            if !Task.isCancelled, process.isRunning { kill(process.processIdentifier, SIGKILL) }
        }
        defer { timer.cancel() }
        var text = ""
        while true {
            guard let chunk = try await Self.read(output.fileHandleForReading) else {
                process.waitUntilExit()
                if process.terminationReason == .uncaughtSignal { throw CommandFailure("\(description) did not start forwarding within \(limit)") }
                let reason = Self.firstLine(text).isEmpty ? "exit status \(process.terminationStatus)" : Self.firstLine(text)
                throw CommandFailure("\(description) ended: \(reason)")
            }
            text += chunk
            if let address = Self.forwardingAddress(in: text) { return address }
        }
    }

    private static func read(_ handle: FileHandle) async throws -> String? {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                let data = handle.availableData
                continuation.resume(returning: data.isEmpty ? nil : String(decoding: data, as: UTF8.self))
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

    /// Kills it (SIGKILL: a port-forward holds nothing to flush, and a child may have inherited
    /// SIGTERM ignored).
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}
