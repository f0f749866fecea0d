import MeshFuzz

/// A scenario file, as `sim` reads it (ParserFuzzing.scenario).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.run(data, size, ParserFuzzing.scenario)
}
