/// How a local answer of the sidecar (access denied, rate limited, no healthy upstream, timeout)
/// reaches a gRPC client: gRPC clients read the status from `grpc-status`, not from `:status`, so
/// the answer is "trailers-only" (`:status` 200, `content-type: application/grpc`, `grpc-status`,
/// `grpc-message`, no body), as Envoy writes its local replies to gRPC requests. Pure, so that
/// both shells (the NIO sidecar and gateway, the simulator) answer a gRPC client alike.
public enum GRPCLocalReply {
    /// `content-type: application/grpc`, `application/grpc+proto`, `application/grpc-web...`.
    public static func isGRPC(contentType: String?) -> Bool {
        guard let contentType else { return false }
        return contentType.utf8.count >= 16 && contentType.lowercased().hasPrefix("application/grpc")
    }

    /// Envoy's `Grpc::Utility::httpToGrpcStatus` (itself gRPC's http-grpc-status-mapping.md).
    public static func grpcStatus(forHTTPStatus status: Int) -> Int {
        switch status {
        case 400: 13 // INTERNAL
        case 401: 16 // UNAUTHENTICATED
        case 403: 7 // PERMISSION_DENIED
        case 404: 12 // UNIMPLEMENTED
        case 429, 502, 503, 504: 14 // UNAVAILABLE
        default: 2 // UNKNOWN
        }
    }

    /// The engine's local answer rewritten for a gRPC client. Its extra headers (for example
    /// `x-envoy-ratelimited`) stay; its body text becomes `grpc-message`.
    public static func rewrite(_ head: HTTPResponseHead) -> HTTPResponseHead {
        let message = head.body.map { $0.trimmedASCIIWhitespace() } ?? ""
        var headers = head.headers.filter { header in
            let name = header.name.lowercased()
            return name != "content-type" && name != "content-length" && name != "grpc-status" && name != "grpc-message"
        }
        headers.append(MeshProxy.HTTPHeader(name: "content-type", value: "application/grpc"))
        headers.append(MeshProxy.HTTPHeader(name: "grpc-status", value: String(grpcStatus(forHTTPStatus: head.status))))
        headers.append(MeshProxy.HTTPHeader(name: "grpc-message", value: percentEncoded(message.isEmpty ? "HTTP status \(head.status)" : message)))
        return HTTPResponseHead(status: 200, headers: headers)
    }

    /// gRPC's `grpc-message` encoding: bytes outside printable ASCII, and `%`, as `%XX`.
    public static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if byte >= 0x20 && byte <= 0x7E && byte != UInt8(ascii: "%") {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }
}

extension String {
    /// Drops leading and trailing spaces, tabs and line breaks (without Foundation).
    fileprivate func trimmedASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
