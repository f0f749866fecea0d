/// Which requests' access-log lines are shipped to the remote collector (MeshConfig
/// `observability.remoteLogging.sampledFraction`): chosen by the request's `x-request-id`, so every
/// sidecar on a request's path makes the same choice and a shipped request has all its lines.
/// A request without an id is shipped unless the fraction is 0 (nothing ties its lines together
/// to sample by).
public struct LogSampler: Hashable, Sendable {
    public var fraction: Double

    public init(fraction: Double) {
        self.fraction = fraction
    }

    public func ships(requestID: String?) -> Bool {
        if fraction >= 1 { return true }
        if fraction <= 0 { return false }
        guard let requestID else { return true }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in requestID.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        // FNV's high bits mix poorly for short, similar ids (`req-1`, `req-2`): finish as MurmurHash3 does.
        hash ^= hash >> 33
        hash = hash &* 0xff51_afd7_ed55_8ccd
        hash ^= hash >> 33
        hash = hash &* 0xc4ce_b9fe_1a85_ec53
        hash ^= hash >> 33
        return Double(hash >> 11) / Double(UInt64(1) << 53) < fraction
    }
}
