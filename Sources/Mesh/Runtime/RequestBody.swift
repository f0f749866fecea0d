import NIOCore

/// Where a request body goes: the upstream connection or HTTP/2 stream of the attempt in progress
/// (or the local app's). Confined to the sidecar's event loop, like the body.
protocol RequestBodySink: AnyObject {
    /// Writes and flushes one part of the body.
    func writeBodyPart(_ part: ByteBuffer)
    /// The body is complete.
    func writeBodyEnd()
    /// The body will not complete on this sink (a retry took it elsewhere, or the request is
    /// over): the request on the wire is cut short, so its connection or stream must go.
    func abandonBody()
    /// Whether the sink takes more now. While it does not, the app's connection is not read; the
    /// sink calls `RequestBody.sinkBecameWritable()` when it drains.
    var acceptsBody: Bool { get }
}

/// The body of one request on its way through the sidecar, streamed as it arrives: to the attempt
/// in progress, while a copy is kept for a retry until the body outgrows the replay limit. Past
/// it the body cannot be resent (the engine is told, as Envoy stops retrying past its buffer
/// limit) and nothing is kept but what no attempt has taken yet. Reading the app's connection
/// pauses while the body can neither move on nor be kept, so memory stays bounded by the limit.
final class RequestBody {
    private let replayLimit: Int
    /// The app's connection (or HTTP/2 stream) the body comes from.
    private let source: any Channel
    /// While replayable: every byte so far. Afterwards: the bytes no sink took yet.
    private var held: ByteBuffer?
    private(set) var isReplayable = true
    private(set) var isComplete = false
    /// Bytes received in all.
    private(set) var receivedBytes = 0
    private var sink: (any RequestBodySink)?
    private var sourcePaused = false

    /// The whole body, when it has arrived and was kept (a gateway's mirror copy); nil otherwise.
    var completeCopy: ByteBuffer? {
        guard isComplete, isReplayable else { return nil }
        return held ?? ByteBuffer()
    }

    init(replayLimit: Int, source: any Channel) {
        self.replayLimit = replayLimit
        self.source = source
    }

    /// A part from the app. Returns true when this part made the body outgrow the replay limit.
    func append(_ part: ByteBuffer) -> Bool {
        receivedBytes += part.readableBytes
        if let sink { sink.writeBodyPart(part) }
        if isReplayable || sink == nil { keep(part) }
        var outgrew = false
        if isReplayable, receivedBytes > replayLimit {
            isReplayable = false
            outgrew = true
            // Everything so far went to the sink: nothing needs keeping any more.
            if sink != nil { held = nil }
        }
        updateSourcePause()
        return outgrew
    }

    /// The app's request ended.
    func finish() {
        guard !isComplete else { return }
        isComplete = true
        sink?.writeBodyEnd()
        resumeSource()
    }

    /// The attempt `sink` carries the body from here on: it gets what was kept (all of it when
    /// replayable) and then every part as it comes. A previous sink that did not get the whole
    /// body abandons it.
    func attach(_ newSink: any RequestBodySink) {
        if let old = sink, old !== newSink { detach(old) }
        sink = newSink
        if let held, held.readableBytes > 0 { newSink.writeBodyPart(held) }
        if !isReplayable { held = nil }
        if isComplete { newSink.writeBodyEnd() }
        updateSourcePause()
    }

    /// `sink` stops carrying the body (its attempt ended or was given up); cut short if incomplete.
    func detach(_ old: any RequestBodySink) {
        guard let sink, sink === old else { return }
        self.sink = nil
        if !isComplete { old.abandonBody() }
        updateSourcePause()
    }

    /// Stops carrying the body anywhere: the request is over for the sidecar (answered locally, or
    /// the app went away). Later parts are dropped by the caller.
    func discard() {
        detachCurrentSink()
        held = nil
        isReplayable = false
        resumeSource()
    }

    /// Whatever sink takes the body now stops taking it (a retry goes elsewhere).
    func detachCurrentSink() {
        if let sink { detach(sink) }
    }

    func sinkBecameWritable() { updateSourcePause() }

    private func keep(_ part: ByteBuffer) {
        if held == nil {
            held = part
        } else {
            var part = part
            held!.writeBuffer(&part)
        }
    }

    private func updateSourcePause() {
        let blocked: Bool
        if isComplete {
            blocked = false
        } else if let sink {
            blocked = !sink.acceptsBody
        } else {
            // Nowhere to go: keep up to the replay limit (a retry or a queued attempt takes it).
            blocked = !isReplayable
        }
        if blocked { pauseSource() } else { resumeSource() }
    }

    private func pauseSource() {
        guard !sourcePaused else { return }
        sourcePaused = true
        source.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    private func resumeSource() {
        guard sourcePaused else { return }
        sourcePaused = false
        let source = source
        source.setOption(ChannelOptions.autoRead, value: true).whenSuccess { source.read() }
    }
}
