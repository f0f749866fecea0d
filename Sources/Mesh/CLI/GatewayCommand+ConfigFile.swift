import Foundation
import Logging
import MeshSidecarCommand
import MeshModel
import MeshProxy
import MeshRuntime
import MeshShell

/// `fsm gateway --config FILE`: a fixed GatewayConfig (the JSON the controller serves at
/// /v1/gateways), read once at start: for a gateway without a controller (the benchmark's edge
/// proxy, a static edge). A file that cannot be read, decoded or applied, or a listener that
/// cannot be bound, stops the command with one line.
extension GatewayCommand {
    static func loadConfig(_ path: String) throws -> GatewayConfig {
        let bytes: [UInt8]
        do {
            bytes = try InputFile.read(path, limit: ManifestLimits.maxFileBytes, directoryHint: "give the gateway's config JSON file",
                                       tooLarge: { "the file has \($0) bytes, more than the \(ManifestLimits.maxFileBytes) a config may have" })
        } catch {
            throw CommandFailure("--config \(path): \(error.message)")
        }
        // The model's parser first: its errors say where the text stops being JSON.
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw CommandFailure("--config \(path): not UTF-8 text") }
        do {
            _ = try JSONValue(parsing: text)
        } catch {
            throw CommandFailure("--config \(path): not a gateway config: \(error)")
        }
        do {
            return try JSONDecoder().decode(GatewayConfig.self, from: Data(bytes))
        } catch {
            let text = (error as? DecodingError).map(Self.describe) ?? "\(error)"
            throw CommandFailure("--config \(path): not a gateway config: \(text)")
        }
    }

    /// Applies the file's config and checks that every listener it names is bound.
    static func applyFixed(_ config: GatewayConfig, path: String, to process: GatewayProcess, logger: Logger) async throws {
        var problem: String?
        switch await process.apply(config) {
        case .applied(version: let version):
            logger.info("gateway config applied", metadata: ["version": "\(version)", "gateway": "\(config.gateway)", "source": "\(path)"])
            let unbound = await process.unboundSockets()
            if !unbound.isEmpty {
                problem = "cannot listen on " + unbound.map { "\($0.kind) port \($0.port)" }.joined(separator: ", ") + " (is another process holding the port? See the log above)"
            }
        case .rejected(reason: let reason):
            problem = "--config \(path): the config is refused: \(reason)"
        }
        if let problem {
            // Nothing is in progress yet: the drain ends at once.
            await process.shutdown()
            throw CommandFailure(problem)
        }
    }

    /// A decoding error as `listeners[0].port: expected Int`, without Foundation's dump.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context, _ last: (any CodingKey)? = nil) -> String {
            let keys = context.codingPath + (last.map { [$0] } ?? [])
            let text = keys.reduce("") { text, key in
                if let index = key.intValue { return text + "[\(index)]" }
                return text.isEmpty ? key.stringValue : text + "." + key.stringValue
            }
            return text.isEmpty ? "the document" : text
        }
        switch error {
        case .typeMismatch(let type, let context): return "\(path(context)): expected \(type)"
        case .valueNotFound(let type, let context): return "\(path(context)): expected \(type), found null"
        case .keyNotFound(let key, let context): return "\(path(context, key)): missing"
        case .dataCorrupted(let context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }
}
