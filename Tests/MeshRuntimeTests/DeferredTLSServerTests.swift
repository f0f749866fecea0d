@testable import MeshRuntime
import NIOCore
import Testing

/// When the inbound listener adds its TLS handler: once the first TLS record is whole.
struct DeferredTLSServerTests {
    static func bytes(_ values: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: values) }

    @Test func waitsForTheWholeFirstRecord() {
        #expect(!DeferredTLSServer.firstRecordArrived(Self.bytes([])))
        #expect(!DeferredTLSServer.firstRecordArrived(Self.bytes([22, 3, 1])))
        // A 4-byte handshake record: header alone, 3 of 4, then all of it.
        #expect(!DeferredTLSServer.firstRecordArrived(Self.bytes([22, 3, 1, 0, 4])))
        #expect(!DeferredTLSServer.firstRecordArrived(Self.bytes([22, 3, 1, 0, 4, 1, 0, 0])))
        #expect(DeferredTLSServer.firstRecordArrived(Self.bytes([22, 3, 1, 0, 4, 1, 0, 0, 0])))
    }

    @Test func anythingElseGoesToTLSAtOnce() {
        // Plain HTTP, or a record length no TLS record has: TLS refuses it now.
        #expect(DeferredTLSServer.firstRecordArrived(ByteBuffer(string: "GET / HTTP/1.1\r\n")))
        #expect(DeferredTLSServer.firstRecordArrived(Self.bytes([22, 3, 1, 0xff, 0xff])))
    }
}
