/// A property a fuzz entry checks that did not hold (a crash needs no such value: it stops the
/// process and libFuzzer keeps the input).
public struct FuzzFinding: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) {
        self.message = message
    }

    public var description: String { "fuzz finding: \(message)" }
}

/// What a libFuzzer target's `LLVMFuzzerTestOneInput` does: hand the input to an entry function
/// and stop the process on a finding, so libFuzzer records the input as a crash.
public enum FuzzEntry {
    public static func run(_ data: UnsafePointer<UInt8>?, _ size: Int, _ entry: (UnsafeRawBufferPointer) throws(FuzzFinding) -> Void) -> CInt {
        do {
            try entry(UnsafeRawBufferPointer(start: data, count: size))
        } catch {
            fatalError(error.description)
        }
        return 0
    }
}
