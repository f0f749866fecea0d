import Testing
@testable import MeshRuntime

/// The shell's random source: xoshiro256** as its authors give it, seeded apart per sidecar.
@Suite struct ShellRandomNumberGeneratorTests {
    @Test func itDrawsTheReferenceSequence() {
        // The reference implementation (prng.di.unimi.it/xoshiro256starstar.c) from the state 1, 2, 3, 4.
        var random = ShellRandomNumberGenerator(seed: (1, 2, 3, 4))
        #expect((0..<4).map { _ in random.next() } == [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240])
    }

    @Test func anAllZeroSeedStillDraws() {
        var random = ShellRandomNumberGenerator(seed: (0, 0, 0, 0))
        #expect((0..<4).map { _ in random.next() } != [0, 0, 0, 0])
    }

    @Test func eachGeneratorIsSeededFromTheSystem() {
        var first = ShellRandomNumberGenerator()
        var second = ShellRandomNumberGenerator()
        #expect((0..<2).map { _ in first.next() } != (0..<2).map { _ in second.next() })
    }
}
