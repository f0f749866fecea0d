import MeshFuzz

/// A controller response, as the sidecar reads and applies it (ParserFuzzing.proxyConfigJSON).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    FuzzEntry.run(data, size, ParserFuzzing.proxyConfigJSON)
}
