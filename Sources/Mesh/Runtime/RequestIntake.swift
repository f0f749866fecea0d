import NIOCore
import NIOHTTP1

/// The request half of a downstream connection or HTTP/2 stream, shared by both listeners: when a
/// request starts through the mesh and where its body goes. A request starts when it ended (the
/// usual case: head, body and end in one read), when a read batch ended with its body still
/// coming (uploads, client-streaming and bidirectional gRPC), or when its body outgrew the replay
/// limit; from then on the body streams (`RequestBody`). It returns what to do; the handler carries
/// it out. A class, not a struct, like `DownstreamResponder`: dropping a body can re-enter the
/// handler synchronously (the upstream connection taking it closes, which ends the response and
/// can close this connection), and that must not overlap a mutating access to the intake (found
/// by fuzz-sidecar: an exclusivity violation, which stops the process).
final class RequestIntake {
    enum Step {
        case none
        /// Route and send the request; `body` is nil when it has none, else complete or streaming.
        case start(NIOHTTP1.HTTPRequestHead, body: RequestBody?)
        /// The body of the started request outgrew the replay limit: tell the engine.
        case bodyNotReplayable
        /// A CONNECT request ended: open the tunnel.
        case tunnel(NIOHTTP1.HTTPRequestHead)
    }

    private let replayLimit: Int
    /// The head of a request not started yet.
    private var waiting: NIOHTTP1.HTTPRequestHead?
    private var body: RequestBody?
    /// Between a request's head and its end.
    private(set) var isOpen = false
    /// The request was answered before its end: the rest of its body is dropped.
    private var discarding = false

    init(replayLimit: Int) {
        self.replayLimit = replayLimit
    }

    func receivedHead(_ head: NIOHTTP1.HTTPRequestHead) {
        waiting = head
        body = nil
        isOpen = true
        discarding = false
    }

    func receivedBody(_ part: ByteBuffer, source: any Channel) -> Step {
        guard !discarding, isOpen else { return .none }
        if body == nil { body = RequestBody(replayLimit: replayLimit, source: source) }
        guard body!.append(part) else { return .none }
        // Past the replay limit nothing is waited for: start now, or tell the engine.
        return startIfWaiting() ?? .bodyNotReplayable
    }

    func receivedEnd() -> Step {
        isOpen = false
        if let head = waiting, head.method == .CONNECT {
            waiting = nil
            return .tunnel(head)
        }
        body?.finish()
        let step = startIfWaiting() ?? .none
        body = nil
        return step
    }

    /// The read batch ended: a request whose body is still coming starts streaming.
    func readComplete(source: any Channel) -> Step {
        guard let head = waiting, head.method != .CONNECT else { return .none }
        if body == nil { body = RequestBody(replayLimit: replayLimit, source: source) }
        return startIfWaiting() ?? .none
    }

    /// The request was answered (locally, or by an upstream that did not wait for its body); the
    /// body still coming is dropped. Returns whether the request is still open (an HTTP/1.1
    /// connection then closes after the answer rather than read an unwanted body).
    func answeredEarly() -> Bool {
        guard isOpen else { return false }
        let dropped = body
        body = nil
        waiting = nil
        discarding = true
        // Last: it can re-enter the handler, which then finds the intake in its new state.
        dropped?.discard()
        return true
    }

    /// The connection went: an attempt still taking the body abandons it.
    func connectionClosed() {
        let dropped = body
        body = nil
        waiting = nil
        dropped?.discard()
    }

    private func startIfWaiting() -> Step? {
        guard let head = waiting else { return nil }
        waiting = nil
        return .start(head, body: body)
    }
}
