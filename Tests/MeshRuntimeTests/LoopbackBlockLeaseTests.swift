import Foundation
import MeshRuntime
import MeshShell
import Testing

/// Address blocks held through lock files: what keeps two test runs (or two `sim --real`) on one
/// machine off each other's loopback addresses.
@Suite struct LoopbackBlockLeaseTests {
    static func directory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lease-test-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func aHeldBlockIsNotLeasedTwiceUntilItIsGivenBack() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try #require(try LoopbackBlockLease.tryAcquire("127.200.1", directory: directory))
        #expect(first.address(2) == "127.200.1.2")
        #expect(try LoopbackBlockLease.tryAcquire("127.200.1", directory: directory) == nil)
        #expect(try LoopbackBlockLease.tryAcquire("127.200.2", directory: directory) != nil)
        first.release()
        #expect(try LoopbackBlockLease.tryAcquire("127.200.1", directory: directory) != nil)
    }

    @Test func aFreeBlockSkipsTheHeldOnesAndNoneIsLeftWhenAllAreHeld() throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var held: [LoopbackBlockLease] = []
        for _ in 1...3 {
            let free = try #require(try LoopbackBlockLease.acquireFree(network: "127.201", in: 1...3, directory: directory))
            #expect(!held.contains { $0.block == free.lease.block })
            #expect(free.lease.block == "127.201.\(free.number)")
            held.append(free.lease)
        }
        #expect(try LoopbackBlockLease.acquireFree(network: "127.201", in: 1...3, directory: directory) == nil)
        held[1].release()
        let again = try #require(try LoopbackBlockLease.acquireFree(network: "127.201", in: 1...3, directory: directory))
        #expect(again.lease.block == held[1].block)
    }

    @Test func aWaitingLeaseGetsTheBlockOnceItIsGivenBack() async throws {
        let directory = try Self.directory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try #require(try LoopbackBlockLease.tryAcquire("127.202.1", directory: directory))
        let waiting = Task { try await LoopbackBlockLease.acquire("127.202.1", directory: directory) }
        try await Task.sleep(nanoseconds: 100_000_000)
        first.release()
        let second = try await waiting.value
        #expect(second.block == "127.202.1")
    }

    @Test func anUnwritableDirectoryIsAnErrorNamingIt() {
        #expect {
            _ = try LoopbackBlockLease.tryAcquire("127.203.1", directory: "/proc/no-such-dir/leases")
        } throws: { error in
            "\(error)".hasPrefix("cannot create the directory /proc/no-such-dir/leases: ")
        }
    }
}
