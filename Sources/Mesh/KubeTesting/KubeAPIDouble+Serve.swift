import Foundation
import MeshKube
import MeshModel
import NIOCore
import NIOHTTP1

/// One parsed request to the double.
struct KubeAPICall {
    var head: HTTPRequestHead
    var path: String
    var query: [String: String]
    var body: [UInt8]
    var type: KubeResourceType
    var namespace: String?
    var name: String?
    var verb: KubeAPIVerb
    /// `status` for `.../<name>/status` (a merge patch there sets only `status`, as the API does).
    var subresource: String?

    var selector: LabelSelector { LabelSelector(query["labelSelector"]) }
}

extension KubeAPIDouble {
    /// Serves one request (on the loop).
    func serve(_ head: HTTPRequestHead, body: [UInt8], channel: any Channel) {
        loop.preconditionInEventLoop()
        let (pathPart, query) = URIQuery.split(head.uri)
        let path = String(pathPart)
        guard let call = parse(head, path: path, query: query, body: body) else {
            record(head, path: path, query: query, verb: .get, status: 404)
            return respond(channel, head, status: 404, json: Self.status(404, "NotFound", "the server could not find the requested resource"))
        }
        let authorization = head.headers.first(name: "authorization")
        if !tokens.isEmpty, !tokens.contains(where: { authorization == "Bearer \($0)" }) {
            record(call, status: 401)
            return respond(channel, head, status: 401, json: Self.status(401, "Unauthorized", "Unauthorized"))
        }
        let fault = takeFault(verb: call.verb, type: call.type)
        switch fault {
        case .hang?:
            record(call, status: 0)
        case .delay(let amount)? where call.verb != .watch:
            loop.scheduleTask(in: amount) { self.answer(call, channel: channel, fault: nil) }
        default:
            answer(call, channel: channel, fault: fault)
        }
    }

    private func answer(_ call: KubeAPICall, channel: any Channel, fault: KubeAPIFault?) {
        if case .status(let code, let reason, let message)? = fault {
            record(call, status: code)
            return respond(channel, call.head, status: code, json: Self.status(code, reason, message))
        }
        if call.verb == .watch { return startWatch(call, channel: channel, fault: fault) }
        if call.verb == .list, fault == .garbage {
            record(call, status: 200)
            return respond(channel, call.head, status: 200, text: "<html>this is not the API you are looking for")
        }
        do {
            let (status, json) = try perform(call)
            record(call, status: status)
            respond(channel, call.head, status: status, json: json)
            if call.verb != .list, call.verb != .get {
                reconcile(after: call)
                publish()
            }
        } catch {
            record(call, status: error.code)
            respond(channel, call.head, status: error.code, json: Self.status(error.code, error.reason, error.message))
        }
    }

    private func perform(_ call: KubeAPICall) throws(KubeStore.Failure) -> (Int, JSONValue) {
        let key = KubeObjectKey(namespace: call.type.namespaced ? call.namespace ?? "" : "", name: call.name ?? "")
        switch call.verb {
        case .list:
            let page = try store.list(call.type, namespace: call.namespace, selector: call.selector, limit: Int(call.query["limit"] ?? "") ?? 0,
                                      continueToken: call.query["continue"])
            var metadata: [(String, JSONValue)] = [("resourceVersion", .string(page.resourceVersion))]
            if let token = page.continueToken { metadata.append(("continue", .string(token))) }
            return (200, .object([("kind", .string("\(call.type.kind)List")), ("apiVersion", .string(call.type.apiVersion)),
                                  ("metadata", .object(metadata)), ("items", .array(page.items))]))
        case .get:
            guard let object = store.object(call.type, key) else { throw KubeStore.Failure(404, "NotFound", "\(call.type.description) \"\(key.name)\" not found") }
            return (200, object)
        case .create:
            return (201, try store.create(call.type, try Self.json(call.body), namespace: call.namespace))
        case .update:
            let object = try Self.json(call.body)
            guard KubeStore.key(object, type: call.type).name == key.name else { throw KubeStore.Failure(400, "BadRequest", "the name of the object does not match the name on the URL") }
            return (200, try store.replace(call.type, object, namespace: call.namespace))
        case .patch:
            var body = try Self.json(call.body)
            if call.subresource == "status" { body = .object([("status", body["status"] ?? .null)]) }
            let contentType = call.head.headers.first(name: "content-type") ?? ""
            if contentType.hasPrefix("application/apply-patch") {
                guard call.query["fieldManager"] != nil else { throw KubeStore.Failure(422, "Invalid", "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch") }
                return (200, try store.apply(call.type, name: key.name, namespace: call.namespace, body: body))
            }
            return (200, try store.patch(call.type, name: key.name, namespace: call.namespace, contentType: contentType, body: body))
        case .delete:
            _ = try store.delete(call.type, key)
            return (200, Self.status(200, "", "", success: true))
        case .watch:
            return (400, Self.status(400, "BadRequest", "watch is served as a stream"))
        }
    }

    // MARK: Watches

    private func startWatch(_ call: KubeAPICall, channel: any Channel, fault: KubeAPIFault?) {
        let version = call.query["resourceVersion"] ?? ""
        var initial: [(String, JSONValue)] = []
        var from = store.revision
        if version.isEmpty || version == "0" {
            // No version: the current objects as ADDED, then changes.
            initial = (try? store.list(call.type, namespace: call.namespace, selector: call.selector, limit: 0, continueToken: nil).items)?
                .map { ("ADDED", $0) } ?? []
        } else if let revision = Int(version) {
            do {
                initial = try store.events(after: revision, type: call.type, namespace: call.namespace, selector: call.selector)
            } catch {
                record(call, status: 200)
                let stream = KubeWatchStream(double: self, call: call, channel: channel, from: from, fault: nil)
                stream.sendHead()
                stream.sendError(code: error.code, reason: error.reason, message: error.message)
                return
            }
        } else {
            record(call, status: 400)
            return respond(channel, call.head, status: 400, json: Self.status(400, "BadRequest", "invalid resourceVersion \(version)"))
        }
        from = store.revision
        record(call, status: 200)
        let stream = KubeWatchStream(double: self, call: call, channel: channel, from: from, fault: fault)
        watchers[ObjectIdentifier(stream)] = stream
        stream.start(initial: initial, timeoutSeconds: Int(call.query["timeoutSeconds"] ?? ""), bookmarks: call.query["allowWatchBookmarks"] == "true")
    }

    func watchEnded(_ stream: KubeWatchStream) {
        watchers[ObjectIdentifier(stream)] = nil
    }

    // MARK: Parsing and answers

    private func parse(_ head: HTTPRequestHead, path: String, query: [String: String], body: [UInt8]) -> KubeAPICall? {
        var parts = path.split(separator: "/").map { URIQuery.decoded($0) }
        let apiVersion: String
        if parts.first == "api", parts.count >= 2 {
            apiVersion = parts[1]
            parts.removeFirst(2)
        } else if parts.first == "apis", parts.count >= 3 {
            apiVersion = "\(parts[1])/\(parts[2])"
            parts.removeFirst(3)
        } else {
            return nil
        }
        var namespace: String?
        if parts.count >= 3, parts[0] == "namespaces" {
            namespace = parts[1]
            parts.removeFirst(2)
        }
        var subresource: String?
        if parts.count == 3, parts[2] == "status", head.method == .PATCH {
            subresource = "status"
            parts.removeLast()
        }
        guard let plural = parts.first, let type = types["\(apiVersion)/\(plural)"], parts.count <= 2 else { return nil }
        let name = parts.count == 2 ? parts[1] : nil
        let verb: KubeAPIVerb
        switch (head.method, name) {
        case (.GET, nil): verb = (query["watch"] == "1" || query["watch"] == "true") ? .watch : .list
        case (.GET, _): verb = .get
        case (.POST, nil): verb = .create
        case (.PUT, _?): verb = .update
        case (.PATCH, _?): verb = .patch
        case (.DELETE, _?): verb = .delete
        default: return nil
        }
        return KubeAPICall(head: head, path: path, query: query, body: body, type: type, namespace: namespace, name: name, verb: verb,
                           subresource: subresource)
    }

    private func record(_ call: KubeAPICall, status: Int) {
        recorded.append(KubeAPIRequest(verb: call.verb, method: call.head.method.rawValue, path: call.path, query: call.query,
                                       contentType: call.head.headers.first(name: "content-type"), body: try? JSONValue(parsing: call.body),
                                       type: call.type, name: call.name, namespace: call.namespace, status: status,
                                       authorization: call.head.headers.first(name: "authorization")))
    }

    private func record(_ head: HTTPRequestHead, path: String, query: [String: String], verb: KubeAPIVerb, status: Int) {
        recorded.append(KubeAPIRequest(verb: verb, method: head.method.rawValue, path: path, query: query, contentType: nil, body: nil, type: nil,
                                       name: nil, namespace: nil, status: status, authorization: head.headers.first(name: "authorization")))
    }

    static func json(_ body: [UInt8]) throws(KubeStore.Failure) -> JSONValue {
        do {
            return try JSONValue(parsing: body)
        } catch {
            throw KubeStore.Failure(400, "BadRequest", "the body of the request is not JSON: \(error)")
        }
    }

    static func status(_ code: Int, _ reason: String, _ message: String, success: Bool = false) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("kind", .string("Status")), ("apiVersion", .string("v1")), ("metadata", .object([])),
                                            ("status", .string(success ? "Success" : "Failure"))]
        if !success {
            pairs += [("message", .string(message)), ("reason", .string(reason)), ("code", .int(code))]
        }
        return .object(pairs)
    }

    func respond(_ channel: any Channel, _ request: HTTPRequestHead, status: Int, json: JSONValue) {
        respond(channel, request, status: status, text: json.rendered(), contentType: "application/json")
    }

    func respond(_ channel: any Channel, _ request: HTTPRequestHead, status: Int, text: String, contentType: String = "text/html") {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(text.utf8.count))
        let keepAlive = request.isKeepAlive
        headers.add(name: "connection", value: keepAlive ? "keep-alive" : "close")
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: status), headers: headers)), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(channel.allocator.buffer(string: text))), promise: nil)
        channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

/// Collects one request and hands it to the double; a watch keeps the connection afterwards.
final class KubeAPIHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let double: KubeAPIDouble
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []

    init(double: KubeAPIDouble) {
        self.double = double
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.removeAll(keepingCapacity: true)
        case .body(let part):
            body.append(contentsOf: part.readableBytesView)
        case .end:
            guard let head else { return }
            self.head = nil
            let channel = context.channel
            let bytes = body
            double.loop.execute { self.double.serve(head, body: bytes, channel: channel) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
