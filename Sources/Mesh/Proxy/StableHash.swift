/// 64-bit FNV-1a of a text's UTF-8 bytes: stable across runs, processes and platforms (unlike
/// `Hasher`), for choices that must come out the same in both shells (a sticky session's token,
/// a hashed endpoint) and for the simulator's named streams and colours.
public enum StableHash {
    public static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
