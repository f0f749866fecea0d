import MeshFuzz
import MeshFuzzSidecar

/// Built once, reused by every input (SidecarFuzzHarness says what carries over).
nonisolated(unsafe) let harness = SidecarFuzzHarness()

/// A client connection's bytes into a sidecar listener (SidecarFuzzInput, SidecarFuzzHarness).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.run(data, size, harness.run)
}
