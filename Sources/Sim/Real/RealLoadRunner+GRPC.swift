import NIOCore
import NIOHTTP1
import NIOPosix
import SimCore

extension RealLoadRunner {
    /// The load's request: its method and path, `Host` naming the URL's authority, the load's
    /// headers; a grpc:// call as grpcurl sends it (`POST`, `content-type: application/grpc`,
    /// `te: trailers`, DECISIONS 189), as the simulator's generator makes it.
    func requestHead() -> NIOHTTP1.HTTPRequestHead {
        let method = url.scheme == .grpc ? "POST" : spec.method.uppercased()
        var head = NIOHTTP1.HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: url.path)
        head.headers.add(name: "host", value: url.authority)
        for header in spec.headers { head.headers.replaceOrAdd(name: header.name, value: header.value) }
        if url.scheme == .grpc {
            head.headers.replaceOrAdd(name: "content-type", value: "application/grpc")
            head.headers.replaceOrAdd(name: "te", value: "trailers")
        } else {
            head.headers.replaceOrAdd(name: "content-length", value: String(spec.bodyBytes))
        }
        return head
    }

    /// One gRPC call on the worker's HTTP/2 connection (a new one when it has none); the answer's
    /// `grpc-status` is kept for the recorder. A failed connection is status 0 (UNAVAILABLE).
    func grpcCall(_ head: NIOHTTP1.HTTPRequestHead, id: String, on existing: RealGRPCConnection?, measuredFrom: ContinuousClock.Instant) async -> RealGRPCConnection? {
        var head = head
        head.headers.replaceOrAdd(name: "x-request-id", value: id)
        let request = head
        return await measure(on: existing, measuredFrom: measuredFrom) {
            guard let target = kubeProxy?.next() else { throw RealKubeProxy.NoEndpoints() }
            return try await RealGRPCConnection.connect(host: target.host, port: target.port, bindTo: clientIP, group: MultiThreadedEventLoopGroup.singleton)
        } exchange: { connection, sample in
            sample.requestID = id
            let response = try await connection.call(request, timeout: .seconds(30))
            sample.status = response.status
            sample.grpcStatusHeader = response.headers.first(name: "grpc-status")
            sample.headerValues = recorder.headerNames.map { response.headers.first(name: $0) }
            sample.deployment = response.headers.first(name: RealAppHeaders.deployment)
            if response.headers.contains(name: RealAppHeaders.appBody) {
                let text = AppModelInstance.reportText(response.body)
                if !text.isEmpty { sample.body = text }
            }
            return true
        }
    }
}
