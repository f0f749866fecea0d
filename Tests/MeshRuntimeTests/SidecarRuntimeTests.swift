import Foundation
import Logging
import MeshModel
import MeshRuntime
import MeshShell
import MeshTesting
import NIOCore
import NIOHTTP1
import Testing

/// Real sockets on a test address block each (`TestAddressBlock`): a client app → client sidecar (outbound 15001) → server sidecar
/// (inbound 15003) → echo app (8080). Every test leases its own block, so they run in parallel.
@Suite(.timeLimit(.minutes(1)))
struct SidecarRuntimeTests {
    @Test func requestCrossesBothSidecars() async throws {
        try await MeshPair.run { mesh in
            let response = try await mesh.get("/hello?x=1")
            #expect(response.status == 200)
            #expect(response.body == "GET /hello?x=1 ")
            #expect(response.header("x-app") == "echo")
            let post = try await mesh.get("/books", method: .POST, body: "one book")
            #expect(post.status == 200)
            #expect(post.body == "POST /books one book")
            // The mesh's own headers stop at the server sidecar.
            let seen = mesh.app.seenHeaders
            #expect(seen.count == 2)
            #expect(seen.allSatisfy { $0["x-fsm-target-port"] == nil && $0["x-fsm-source-identity"] == nil })
            #expect(seen.first?["host"] == "echo:8080")

            let clientStats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(clientStats["cluster.default/echo|8080.upstream_rq_2xx"] == 2)
            let serverStats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(serverStats["inbound.rq_2xx"] == 2)
            #expect(try await mesh.admin(mesh.clientIP, "/ready").status == 200)
            let dump = try await mesh.admin(mesh.clientIP, "/config_dump")
            #expect(dump.status == 200)
            #expect(try ProxyConfig(jsonText: dump.body).renderedJSON() == MeshPair.clientConfig(serverIP: mesh.serverIP).renderedJSON())
        }
    }

    @Test func largeBodiesStreamAndUpstreamConnectionsAreReused() async throws {
        try await MeshPair.run { mesh in
            let size = 8 * 1024 * 1024
            let big = try await mesh.get("/big/\(size)")
            #expect(big.status == 200)
            #expect(big.body.utf8.count == size)
            for index in 0..<3 { #expect(try await mesh.get("/small/\(index)").status == 200) }
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            // One pooled keep-alive connection to the server sidecar served all four requests.
            #expect(stats["cluster.default/echo|8080.upstream_cx_total"] == 1)
            #expect(stats["cluster.default/echo|8080.upstream_rq_total"] == 4)

            // Request bodies stream; past the 64 KiB replay buffer they cannot be retried (counted).
            let large = try await mesh.get("/upload", method: .POST, body: String(repeating: "y", count: 70_000))
            #expect(large.status == 200)
            #expect(large.body.utf8.count == 70_000 + "POST /upload ".utf8.count)
            // An HTTP/1.0 client gets an HTTP/1.0 answer, then the close.
            let old = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: "GET /ten HTTP/1.0\r\nHost: echo:8080\r\n\r\n")
            #expect(old.hasPrefix("HTTP/1.0 200 OK"))
            #expect(old.hasSuffix("\r\n\r\nGET /ten "))
            // curl's `Expect: 100-continue`: the sidecar invites the body, the app never sees the header.
            let expecting = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes:
                "POST /expect HTTP/1.1\r\nHost: echo:8080\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nhello")
            #expect(expecting.hasPrefix("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"))
            #expect(expecting.hasSuffix("POST /expect hello"))
            #expect(mesh.app.seenHeaders.last?["expect"] == nil)
            let fits = try await mesh.get("/upload", method: .POST, body: String(repeating: "y", count: 60_000))
            #expect(fits.status == 200)
            #expect(fits.body.utf8.count == 60_000 + "POST /upload ".utf8.count)
            #expect(parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)["runtime.downstream_rq_body_not_replayable"] == 1)
        }
    }

    @Test func unknownHostIsRefused() async throws {
        try await MeshPair.run { mesh in
            // No traffic match: the sidecar closes the app's connection (the demos' status 0).
            let refused = try? await mesh.get("/", host: "nowhere:9999")
            #expect(refused == nil)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["outbound.no_route"] == 1)
            #expect(try await mesh.get("/again").status == 200)
        }
    }

    @Test func smiAccessControlDeniesUnmatchedPaths() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let local = [WeightedCluster(name: "default/echo|8080|local", weight: 100)]
        let rules = [
            RouteRule(pathRegex: "/books-bought", methods: ["GET"], targetClusters: local, allowedServices: [MeshPair.clientIdentity]),
            RouteRule(pathRegex: "/admin", targetClusters: local, allowedServices: ["someone-else.default.cluster.local"]),
        ]
        try await MeshPair.run(block: block, server: MeshPair.serverConfig(serverIP: serverIP, rules: rules)) { mesh in
            #expect(try await mesh.get("/books-bought").status == 200)
            #expect(try await mesh.get("/buy-a-book").status == 403)
            #expect(try await mesh.get("/admin").status == 403)
            // An app cannot pose as another identity: its own mesh headers are replaced.
            let spoofed = try await mesh.get("/admin", headers: [("X-FSM-Source-Identity", "someone-else.default.cluster.local"), ("x-fsm-target-port", "1")])
            #expect(spoofed.status == 403)
            #expect(try await mesh.get("/books-bought", method: .POST).status == 403)
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["inbound.access_denied"] == 4)
            #expect(mesh.app.seenHeaders.count == 1)
        }
    }

    @Test func inboundRateLimitAnswers429WithHeaders() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let limit = RateLimitConfig(limit: 3, period: .seconds(60), capacity: 3, responseStatusCode: 429,
                                    responseHeadersToAdd: [HeaderValue(name: "hello", value: "world")])
        try await MeshPair.run(block: block, server: MeshPair.serverConfig(serverIP: serverIP, serviceLimit: limit)) { mesh in
            var statuses: [Int] = []
            var limited: MeshHTTPResponse?
            for _ in 0..<4 {
                let response = try await mesh.get("/")
                statuses.append(response.status)
                if response.status == 429 { limited = response }
            }
            #expect(statuses == [200, 200, 200, 429])
            #expect(limited?.header("hello") == "world")
            let stats = parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)
            #expect(stats["http_local_rate_limiter.http_local_rate_limit.rate_limited.throttle_service"] == 1)
        }
    }

    @Test func headerInjectionFromConfigIsNotWritten() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let limit = RateLimitConfig(limit: 1, period: .seconds(60), capacity: 1, responseStatusCode: 429,
                                    responseHeadersToAdd: [HeaderValue(name: "hello", value: "world\r\nx-injected: yes")])
        try await MeshPair.run(block: block, server: MeshPair.serverConfig(serverIP: serverIP, serviceLimit: limit)) { mesh in
            #expect(try await mesh.get("/").status == 200)
            let refused = try await mesh.get("/")
            // The server sidecar refuses to write the header and closes; the client sidecar sees a reset.
            #expect(refused.status == 503)
            #expect(refused.header("x-injected") == nil)
            #expect(try await mesh.admin(mesh.serverIP, "/ready").status == 200)
        }
    }

    @Test func retriesA503AndCountsIt() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let retry = RetryPolicy(retryOn: "5xx", numRetries: 2, retryBackoffBaseInterval: .milliseconds(5))
        try await MeshPair.run(block: block, client: MeshPair.clientConfig(serverIP: serverIP, retry: retry)) { mesh in
            let response = try await mesh.get("/status/503")
            #expect(response.status == 503)
            #expect(response.body == "GET /status/503 ")
            #expect(mesh.app.seenHeaders.count == 3)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["cluster.default/echo|8080.upstream_rq_retry"] == 2)
            #expect(stats["cluster.default/echo|8080.upstream_rq_retry_limit_exceeded"] == 1)
            #expect(try await mesh.get("/fine").status == 200)
        }
    }

    @Test func prometheusTextParses() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        let retry = RetryPolicy(retryOn: "5xx", numRetries: 1, retryBackoffBaseInterval: .milliseconds(5))
        try await MeshPair.run(block: block, client: MeshPair.clientConfig(serverIP: serverIP, retry: retry)) { mesh in
            _ = try await mesh.get("/a")
            _ = try await mesh.get("/status/503")
            let response = try await mesh.admin(mesh.clientIP, "/stats/prometheus")
            #expect(response.status == 200)
            #expect(response.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = try parsePrometheus(response.body)
            let total = samples.filter { $0.name == "fsm_request_total" }
            #expect(total.first { $0.labels["response_code"] == "200" }?.value == 1)
            #expect(total.first { $0.labels["response_code"] == "503" }?.value == 1)
            #expect(samples.contains { $0.name == "fsm_request_duration_ms_bucket" && $0.labels["le"] == "+Inf" && $0.value == 2 })
            #expect(samples.first { $0.name == "sidecar_cluster_upstream_rq_retry" && $0.labels["sidecar_cluster_name"] == "default/echo|8080" }?.value == 1)
            let serverText = try await mesh.admin(mesh.serverIP, "/stats/prometheus").body
            let serverSamples = try parsePrometheus(serverText)
            #expect(serverSamples.first { $0.name == "fsm_request_total" && $0.labels["source_namespace"] == "default" && $0.labels["response_code"] == "200" }?.value == 1)
            // The parser itself rejects broken text.
            #expect(throws: PrometheusParseError.self) { try parsePrometheus("no_type_line 1\n") }
            #expect(throws: PrometheusParseError.self) { try parsePrometheus("# TYPE x counter\nx{a=\"1} 2\n") }
        }
    }

    @Test func malformedHTTPGets400AndTheSidecarKeepsServing() async throws {
        try await MeshPair.run { mesh in
            let garbage = try await RawClient.exchange(host: mesh.clientIP, port: 15001, bytes: "THIS IS NOT HTTP\r\n\r\n")
            #expect(garbage.hasPrefix("HTTP/1.1 400"))
            let oversized = try await RawClient.exchange(host: mesh.clientIP, port: 15001,
                                                         bytes: "GET / HTTP/1.1\r\nHost: echo:8080\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n")
            #expect(oversized.hasPrefix("HTTP/1.1 431"))
            let badChunks = try await RawClient.exchange(host: mesh.clientIP, port: 15001,
                                                         bytes: "POST / HTTP/1.1\r\nHost: echo:8080\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n")
            #expect(badChunks.hasPrefix("HTTP/1.1 400"))
            // The inbound listener speaks mTLS only: bytes that are no TLS handshake are refused at
            // the border (no AccessControl admits them), unanswered.
            let inboundGarbage = try await RawClient.exchange(host: mesh.serverIP, port: 15003, bytes: "\u{01}\u{02}\r\n\r\n")
            #expect(!inboundGarbage.hasPrefix("HTTP/1.1"))
            #expect(try await mesh.get("/still-here").status == 200)
            let clientStats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(clientStats["runtime.downstream_rq_bad_request"] == 2)
            #expect(clientStats["runtime.downstream_rq_headers_too_large"] == 1)
            #expect(parseStats(try await mesh.admin(mesh.serverIP, "/stats").body)["inbound.cx_no_identity"] == 1)
        }
    }

    @Test func upstreamResetGives503AndTheSidecarKeepsServing() async throws {
        try await MeshPair.run { mesh in
            let reset = try await mesh.get("/reset")
            #expect(reset.status == 503)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["cluster.default/echo|8080.upstream_rq_rx_reset"] == 1)
            #expect(try await mesh.get("/after").status == 200)
            // A server pod with nothing listening behind its sidecar: the server sidecar answers 503.
            await mesh.app.stop()
            #expect(try await mesh.get("/gone").status == 503)
        }
    }

    @Test func badConfigFileKeepsTheLastGoodConfig() async throws {
        try await MeshPair.run { mesh in
            let path = mesh.directory.appendingPathComponent("client.json")
            try Data("{ not json".utf8).write(to: path, options: .atomic)
            mesh.client.reload()
            try await Task.sleep(for: .milliseconds(200))
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["runtime.config_reload_failed"] == 1)
            #expect(try await mesh.get("/ok").status == 200)
            #expect(try ProxyConfig(jsonText: try await mesh.admin(mesh.clientIP, "/config_dump").body).version == "client-1")

            // A good file is picked up by the poll (no reload call).
            try MeshPair.write(MeshPair.clientConfig(serverIP: mesh.serverIP, version: "client-2"), to: path)
            var version = ""
            for _ in 0..<40 where version != "client-2" {
                try await Task.sleep(for: .milliseconds(100))
                version = try ProxyConfig(jsonText: try await mesh.admin(mesh.clientIP, "/config_dump").body).version
            }
            #expect(version == "client-2")
            #expect(try await mesh.get("/ok").status == 200)
        }
    }

    @Test func perTryTimeoutRetriesThenAnswers504() async throws {
        let block = try TestAddressBlock.lease()
        let serverIP = block.address(2)
        // 400 ms: room for the fast request below on a loaded machine, well below the slow answer.
        let retry = RetryPolicy(retryOn: "5xx", perTryTimeout: .milliseconds(400), numRetries: 1, retryBackoffBaseInterval: .milliseconds(5))
        try await MeshPair.run(block: block, client: MeshPair.clientConfig(serverIP: serverIP, retry: retry)) { mesh in
            // The app would answer 200 after 2 s; a 504 means both per-try timeouts fired first.
            let slow = try await mesh.get("/slow/2000")
            #expect(slow.status == 504)
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["cluster.default/echo|8080.upstream_rq_per_try_timeout"] == 2)
            #expect(stats["cluster.default/echo|8080.upstream_rq_retry"] == 1)
            // The abandoned connections were closed; a fast request still goes through.
            #expect(try await mesh.get("/slow/10").body == "slow")
        }
    }

    @Test func configWithUnknownClusterIsRejectedAndTheOldOneKept() async throws {
        try await MeshPair.run { mesh in
            var broken = MeshPair.clientConfig(serverIP: mesh.serverIP, version: "client-broken")
            broken.outbound.clustersConfigs.removeAll()
            try MeshPair.write(broken, to: mesh.directory.appendingPathComponent("client.json"))
            mesh.client.reload()
            try await Task.sleep(for: .milliseconds(200))
            let stats = parseStats(try await mesh.admin(mesh.clientIP, "/stats").body)
            #expect(stats["config_rejected"] == 1)
            #expect(stats["runtime.config_reload_failed"] == 1)
            let dump = try ProxyConfig(jsonText: try await mesh.admin(mesh.clientIP, "/config_dump").body)
            #expect(dump.version == "client-1")
            #expect(try await mesh.get("/still").status == 200)
        }
    }

    @Test func shutdownDrainsRequestsInProgress() async throws {
        try await MeshPair.run { mesh in
            // The app answers after 1.5 s: a window wide enough to see the request at the server
            // sidecar even on a busy machine, and well inside the 5 s drain.
            async let slow = mesh.get("/slow/1500")
            // Until the request is at the server sidecar (the mTLS handshake takes a moment on a busy machine).
            try await waitFor { try await mesh.server.onLoop { $0.requestsInProgress } == 1 }
            // Both sidecars drain while the app is still answering.
            async let clientDown: Void = mesh.client.shutdown()
            async let serverDown: Void = mesh.server.shutdown()
            let response = try await slow
            _ = await (clientDown, serverDown)
            #expect(response.status == 200)
            #expect(response.body == "slow")
            #expect(response.header("connection") == "close")
            // The listeners are gone.
            let refused = try? await mesh.get("/after")
            #expect(refused == nil)
        }
    }

    /// A config file that is not there stops the start (there is no last good config to keep):
    /// the error says why, and nothing is left listening.
    @Test func sidecarWithoutConfigDoesNotStart() async throws {
        var logger = Logging.Logger(label: "test")
        logger.logLevel = .critical
        let block = try TestAddressBlock.lease()
        defer { block.release() }
        do {
            let process = try await SidecarProcess.start(configPath: "/nonexistent/config.json", settings: SidecarSettings(podIP: block.address(1), peerTransport: .insecurePlaintext), logger: logger)
            await process.shutdown()
            Issue.record("the sidecar started without a config")
        } catch let problem as ConfigFileProblem {
            #expect(problem.description == "/nonexistent/config.json: no such file")
        }
        #expect((try? await MeshHTTP.request(host: block.address(1), port: 15000, path: "/ready")) == nil)
    }
}
