import Foundation
import MeshProxy

/// Seeded randomness for the simulator, split into named streams so that adding a pod or a load
/// does not perturb the numbers any other subsystem draws.

/// SplitMix64: expands one 64-bit seed into well-mixed words (used to seed the streams).
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256**: a small, fast generator with a 256-bit state; one per named stream.
public struct SimRandom: RandomNumberGenerator, Sendable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// The stream `name` of the run seeded with `seed`: seeded from `seed ⊕ FNV-1a(name)`.
    public init(seed: UInt64, stream name: String) {
        var mix = SplitMix64(seed: seed ^ SimRandom.fnv1a(name))
        s0 = mix.next(); s1 = mix.next(); s2 = mix.next(); s3 = mix.next()
        if s0 | s1 | s2 | s3 == 0 { s0 = 1 }
    }

    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = (s3 << 45) | (s3 >> 19)
        return result
    }

    /// Uniform in [0, 1) with 53 bits of precision.
    mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in `0..<bound` (bound > 0), without modulo bias worth caring about at these sizes.
    mutating func below(_ bound: Int) -> Int { Int(next().multipliedFullWidth(by: UInt64(bound)).high) }

    /// A standard normal deviate (Box–Muller; one of the pair is discarded to stay stateless).
    mutating func normal() -> Double {
        var u = unit()
        if u < 1e-300 { u = 1e-300 }
        let v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// FNV-1a 64-bit of the UTF-8 bytes.
    static func fnv1a(_ text: String) -> UInt64 { StableHash.fnv1a(text) }
}
