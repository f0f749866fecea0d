#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The compiled eBPF capture programs (`bpf/fsm_capture.bpf.c`), built by the BPFObjectPlugin
/// build-tool plugin with clang's bpf target and embedded in the binary, so `fsm interceptor`
/// needs no file beside it. When the build could not compile them, `load()` says why.
public enum InterceptorObject {
    /// What the plugin generated: the object (base64), or the reason there is none.
    struct GeneratedObject {
        let base64: String
        let problem: String?
    }

    public struct Unavailable: Error, CustomStringConvertible {
        public let description: String
    }

    /// The ELF object's bytes.
    public static func load() throws(Unavailable) -> [UInt8] {
        if let problem = generated.problem {
            throw Unavailable(description: "this fsm was built without its eBPF programs: \(problem)")
        }
        guard let data = Data(base64Encoded: generated.base64), !data.isEmpty else {
            throw Unavailable(description: "this fsm's embedded eBPF object is damaged; rebuild it")
        }
        return [UInt8](data)
    }

    /// Whether the build embedded the programs (the eBPF tests are disabled without them).
    public static var isAvailable: Bool { generated.problem == nil }

    /// Why the build has no programs, nil when it has them.
    public static var unavailableReason: String? { generated.problem }
}
