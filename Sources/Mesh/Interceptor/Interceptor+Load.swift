import CLibBPF
#if canImport(Glibc)
import Glibc
#endif

extension Interceptor {
    /// Room for one program's verifier log (level 1 keeps only the failing path's states).
    static let verifierLogBytes = 1 << 20

    /// Opens and loads the object: maps created, programs verified. A program the verifier refuses
    /// is named with the end of its log; a map the kernel will not create, with libbpf's words.
    static func load(_ bytes: [UInt8]) throws(InterceptorError) -> OpaquePointer {
        LibBPFMessages.install()
        _ = LibBPFMessages.take()
        let opened = "fsm_capture".withCString { name in
            var options = fsm_object_open_opts(name)
            return bytes.withUnsafeBytes { bpf_object__open_mem($0.baseAddress, $0.count, &options) }
        }
        guard let object = opened else {
            let code = errno
            throw InterceptorError("cannot read the eBPF object: \(said(LibBPFMessages.take(), errno: code))")
        }
        let logs = verifierLogs(for: object)
        defer { logs.forEach { $0.buffer.deallocate() } }
        let status = bpf_object__load(object)
        guard status == 0 else {
            let failed = logs.first { $0.buffer[0] != 0 }.map { (name: String(cString: bpf_program__name($0.program)), log: String(cString: $0.buffer)) }
            let messages = LibBPFMessages.take()
            bpf_object__close(object)
            if let failed { throw .verifier(program: failed.name, log: failed.log) }
            throw InterceptorError("the kernel refused the eBPF object: \(said(messages, errno: status))")
        }
        return object
    }

    /// A log buffer per program: libbpf loads without a log first and, when the verifier refuses
    /// a program, loads it again with the log going there.
    private static func verifierLogs(for object: OpaquePointer) -> [(program: OpaquePointer, buffer: UnsafeMutablePointer<CChar>)] {
        var logs: [(program: OpaquePointer, buffer: UnsafeMutablePointer<CChar>)] = []
        var program = bpf_object__next_program(object, nil)
        while let current = program {
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: verifierLogBytes)
            buffer.initialize(repeating: 0, count: verifierLogBytes)
            bpf_program__set_log_buf(current, buffer, verifierLogBytes)
            logs.append((current, buffer))
            program = bpf_object__next_program(object, current)
        }
        return logs
    }

    /// libbpf's warnings (the ones naming what failed) and errno, in one line.
    private static func said(_ messages: [String], errno code: Int32) -> String {
        let relevant = messages.filter { !$0.hasPrefix("libbpf: elf:") }.suffix(4).map { $0.replacingPrefix("libbpf: ", with: "") }
        let words = SystemWords.describe(code)
        return relevant.isEmpty ? words : relevant.joined(separator: "; ") + " (\(words))"
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
