import MeshFuzz

/// A manifest file, as `fsm controller` reads it, then through the controller (ParserFuzzing.manifest).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.run(data, size, ParserFuzzing.manifest)
}
