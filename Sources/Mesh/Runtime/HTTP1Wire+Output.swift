import NIOCore
import NIOHTTP1

extension HTTP1Wire {
    /// Copies the pieces of a message head into a buffer's writable bytes in one access to its
    /// storage (`ByteBuffer.writeWithUnsafeMutableBytes`), where a `writeString` per piece checked
    /// and reserved capacity, and took an exclusive access to the storage, each time (four times
    /// per header field). The caller sizes the write exactly (`size`).
    struct Output {
        private let bytes: UnsafeMutableRawBufferPointer
        private(set) var count = 0

        init(_ bytes: UnsafeMutableRawBufferPointer) {
            self.bytes = bytes
        }

        mutating func put(_ string: String) {
            var string = string
            string.withUTF8 { put(UnsafeRawBufferPointer($0)) }
        }

        mutating func put(_ string: StaticString) {
            string.withUTF8Buffer { put(UnsafeRawBufferPointer($0)) }
        }

        mutating func put(byte: UInt8) {
            bytes[count] = byte
            count += 1
        }

        private mutating func put(_ piece: UnsafeRawBufferPointer) {
            precondition(count + piece.count <= bytes.count, "a head's bytes outgrew their size")
            UnsafeMutableRawBufferPointer(rebasing: bytes[count...]).copyMemory(from: piece)
            count += piece.count
        }

        /// `name: value` CRLF.
        mutating func putField(_ name: String, _ value: String) {
            put(name)
            put(": " as StaticString)
            put(value)
            put(HTTP1Wire.crlf)
        }

        /// The head's fields, the connection's own `connection` (if any), `transfer-encoding:
        /// chunked` when the framing adds it, and the CRLF that ends the head
        /// (`HTTP1Wire.fieldsSize` bytes).
        mutating func putFields(_ headers: HTTPHeaders, connection: String? = nil, addsChunked: Bool) {
            for (name, value) in headers { putField(name, value) }
            if let connection { putField("connection", connection) }
            if addsChunked { put("transfer-encoding: chunked\r\n" as StaticString) }
            put(HTTP1Wire.crlf)
        }
    }
}
