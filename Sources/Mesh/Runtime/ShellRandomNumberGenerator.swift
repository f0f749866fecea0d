/// The random source a sidecar's shell hands its engine (load-balancing picks, retry jitter,
/// sampling, trace and request ids): xoshiro256** (Blackman and Vigna), seeded once from the
/// system's generator. `SystemRandomNumberGenerator` asks the kernel (`getrandom`) for every
/// number, which a traced request did five times on the event loop; as Envoy's per-thread
/// generator does, the shell now asks once and draws the rest itself (DECISIONS 246). None of
/// these draws is a secret: keys and certificates never come from here.
struct ShellRandomNumberGenerator: RandomNumberGenerator, Sendable {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    /// Seeded from the system's generator.
    init() {
        var system = SystemRandomNumberGenerator()
        self.init(seed: (system.next(), system.next(), system.next(), system.next()))
    }

    /// A fixed seed (tests); an all-zero state, which the generator never leaves, is replaced.
    init(seed: (UInt64, UInt64, UInt64, UInt64)) {
        state = seed
        if state == (0, 0, 0, 0) { state.0 = 0x9E37_79B9_7F4A_7C15 }
    }

    mutating func next() -> UInt64 {
        let result = (state.1 &* 5).rotatedLeft(by: 7) &* 9
        let shifted = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= shifted
        state.3 = state.3.rotatedLeft(by: 45)
        return result
    }
}

extension UInt64 {
    fileprivate func rotatedLeft(by count: UInt64) -> UInt64 {
        self << count | self >> (64 - count)
    }
}
