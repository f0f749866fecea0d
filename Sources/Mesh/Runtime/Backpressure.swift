import NIOCore

/// Streams without buffering whole bodies: when the channel a response (or tunnel) streams into
/// stops being writable, the channel it comes from stops reading until the writer drains.
struct ReadPause {
    private var paused: (any Channel)?

    /// Call after writing into `destination` what `source` produced.
    mutating func afterWrite(into destination: any Channel, from source: any Channel) {
        guard paused == nil, !destination.isWritable else { return }
        paused = source
        source.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    /// Call when the destination became writable again, or when the stream ended.
    mutating func resume() {
        guard let source = paused else { return }
        paused = nil
        source.setOption(ChannelOptions.autoRead, value: true).whenSuccess { source.read() }
    }
}
