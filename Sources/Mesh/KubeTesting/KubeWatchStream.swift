import MeshKube
import MeshModel
import NIOCore
import NIOHTTP1

/// One open watch of the double: a chunked response, one JSON event per line, fed by `publish`.
final class KubeWatchStream: @unchecked Sendable {
    let type: KubeResourceType
    private unowned let double: KubeAPIDouble
    private let call: KubeAPICall
    private let channel: any Channel
    private var revision: Int
    private var fault: KubeAPIFault?
    private var sent = 0
    private var ended = false
    private var timers: [Scheduled<Void>] = []
    private var bookmarkTask: RepeatedTask?

    init(double: KubeAPIDouble, call: KubeAPICall, channel: any Channel, from revision: Int, fault: KubeAPIFault?) {
        self.double = double
        self.call = call
        self.type = call.type
        self.channel = channel
        self.revision = revision
        self.fault = fault
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            self.double.loop.execute { self.stop() }
        }
    }

    func start(initial: [(String, JSONValue)], timeoutSeconds: Int?, bookmarks: Bool) {
        sendHead()
        switch fault {
        case .gone?:
            sendError(code: 410, reason: "Expired", message: "too old resource version: \(revision)")
            return
        case .garbage?:
            write(Array("{\"type\":\"ADDED\",\"object\":{\"kind\":\n".utf8))
            return
        case .truncate?:
            write(Array("{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"half".utf8))
            drop()
            return
        default:
            break
        }
        for (kind, object) in initial where !ended { send(kind, object) }
        if case .drop(let limit)? = fault, sent >= limit { drop() }
        guard !ended else { return }
        if let timeoutSeconds, timeoutSeconds > 0 {
            timers.append(double.loop.scheduleTask(in: .seconds(Int64(timeoutSeconds))) { [weak self] in self?.end() })
        }
        if bookmarks {
            let interval = double.settings.bookmarkInterval
            bookmarkTask = double.loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in self?.bookmark() }
        }
    }

    /// Sends the store's events since the last ones sent.
    func catchUp(_ store: KubeStore) {
        guard !ended else { return }
        let events = store.events
        for event in events[store.firstEvent(after: revision)...] {
            revision = event.revision
            if let (kind, object) = KubeStore.visible(event, type: type, namespace: call.namespace, selector: call.selector) {
                send(kind, object)
                if ended { return }
            }
        }
        revision = store.revision
    }

    func sendHead() {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "transfer-encoding", value: "chunked")
        channel.writeAndFlush(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers)), promise: nil)
    }

    func sendError(code: Int, reason: String, message: String) {
        let status = KubeAPIDouble.status(code, reason, message)
        write(Array(JSONValue.object([("type", .string("ERROR")), ("object", status)]).rendered().utf8) + [UInt8(ascii: "\n")])
        end()
    }

    private func send(_ kind: String, _ object: JSONValue) {
        let line = Array(JSONValue.object([("type", .string(kind)), ("object", object)]).rendered().utf8) + [UInt8(ascii: "\n")]
        if case .delay(let amount)? = fault {
            timers.append(double.loop.scheduleTask(in: amount) { [weak self] in self?.write(line) })
        } else {
            write(line)
        }
        sent += 1
        if case .drop(let limit)? = fault, sent >= limit { drop() }
    }

    private func bookmark() {
        guard !ended else { return }
        let object: JSONValue = .object([("kind", .string(type.kind)), ("apiVersion", .string(type.apiVersion)),
                                         ("metadata", .object([("resourceVersion", .string(String(double.store.revision)))]))])
        write(Array(JSONValue.object([("type", .string("BOOKMARK")), ("object", object)]).rendered().utf8) + [UInt8(ascii: "\n")])
    }

    private func write(_ bytes: [UInt8]) {
        guard !ended else { return }
        channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(bytes: bytes))), promise: nil)
    }

    /// Ends the stream cleanly (the server's timeout).
    func end() {
        guard !ended else { return }
        channel.writeAndFlush(HTTPServerResponsePart.end(nil), promise: nil)
        stop()
    }

    /// Closes the connection mid-stream.
    func drop() {
        guard !ended else { return }
        stop()
        channel.close(promise: nil)
    }

    func close() {
        drop()
    }

    private func stop() {
        ended = true
        for timer in timers { timer.cancel() }
        timers.removeAll()
        bookmarkTask?.cancel()
        bookmarkTask = nil
        double.watchEnded(self)
    }
}
