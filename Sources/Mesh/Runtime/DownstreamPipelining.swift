import NIOCore
import NIOHTTP1

/// HTTP/1.1 pipelining on a downstream connection, as a value: one request at a time reaches the
/// request side (`DownstreamRequestSide` answers them in order); parts of a request pipelined
/// behind it wait here until its response has ended. NIO's `HTTPServerPipelineHandler` also holds
/// back the connection's reads from every request's end to its response's end, which costs two
/// `epoll_ctl` calls per request on a kept-alive connection whose client waits for each answer.
/// Here a read is held back only while a pipelined request waits, which bounds what waits to what
/// one read brought, as NIO's does (DECISIONS 232). Confined to its channel's loop.
struct DownstreamPipelining {
    /// Where the request and the response in progress are (NIO's `ConnectionState`).
    enum Phase: Equatable {
        case idle
        /// A request head came; neither its end nor its response's end yet.
        case requestAndResponseEndPending
        /// The request ended; its response has not.
        case responseEndPending
        /// The response ended before its request did (an early answer).
        case requestEndPending
    }

    /// What waits behind the request in progress.
    enum Waiting {
        case part(HTTPServerRequestPart)
        case parserError(HTTPParserError)
    }

    private(set) var phase = Phase.idle
    private var waiting = CircularBuffer<Waiting>(initialCapacity: 0)
    /// A read was asked for while a request waited; it is passed on when none waits any more.
    private(set) var readHeld = false

    var hasWaiting: Bool { !waiting.isEmpty }

    /// A part the decoder produced: true to deliver it now, false when it waits (kept here).
    mutating func received(_ part: HTTPServerRequestPart) -> Bool {
        guard waiting.isEmpty && phase != .responseEndPending else {
            waiting.append(.part(part))
            return false
        }
        advance(past: part)
        return true
    }

    /// A malformed request: true to deliver the error now (the request side answers it as a
    /// request, 400 or 431), false when it waits behind the response in progress.
    mutating func received(_ error: HTTPParserError) -> Bool {
        guard waiting.isEmpty && phase != .responseEndPending else {
            waiting.append(.parserError(error))
            return false
        }
        delivered(error)
        return true
    }

    /// The channel asks to read: true to pass the read on, false to hold it while a request waits.
    mutating func readRequested() -> Bool {
        guard waiting.isEmpty else {
            readHeld = true
            return false
        }
        return true
    }

    /// The response in progress wrote its end.
    mutating func responseEnded() {
        switch phase {
        case .responseEndPending: phase = .idle
        case .requestAndResponseEndPending: phase = .requestEndPending
        case .idle, .requestEndPending: break  // an answer the request side closes after
        }
    }

    /// The next waiting part or error to deliver now (nil while a response is in progress or
    /// none waits). The caller delivers them in order.
    mutating func nextToDeliver() -> Waiting? {
        guard phase != .responseEndPending, let next = waiting.popFirst() else { return nil }
        switch next {
        case .part(let part): advance(past: part)
        case .parserError(let error): delivered(error)
        }
        return next
    }

    /// After delivering what could be: true when a held read is to be passed on now.
    mutating func resumeRead() -> Bool {
        guard readHeld && waiting.isEmpty else { return false }
        readHeld = false
        return true
    }

    /// The connection closed: what waited cannot be answered.
    mutating func connectionClosed() {
        waiting.removeAll()
    }

    /// Leaving the pipeline (a CONNECT tunnel takes over): everything that waited, in order;
    /// the caller delivers it and passes on a held read.
    mutating func removeAllWaiting() -> CircularBuffer<Waiting> {
        defer { waiting.removeAll() }
        return waiting
    }

    private mutating func advance(past part: HTTPServerRequestPart) {
        switch (part, phase) {
        case (.head, .idle): phase = .requestAndResponseEndPending
        case (.end, .requestAndResponseEndPending): phase = .responseEndPending
        case (.end, .requestEndPending): phase = .idle
        default: break
        }
    }

    /// A malformed request counts as a whole request whose answer is pending (as NIO's handler):
    /// its 400 is the response that must end before anything more is delivered.
    private mutating func delivered(_ error: HTTPParserError) {
        if phase == .idle || phase == .requestEndPending { phase = .responseEndPending }
    }
}
