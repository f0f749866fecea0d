#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import MeshModel
import MeshProxy
import NIOCore
import NIOHTTP1

/// The shell's part of tracing: while the applied config carries `Spec.Tracing`, the engine's
/// finished spans are taken every `spanDrainInterval` (on the loop) and handed to the reporter,
/// which sends them in its own task; a config without it stops both and drops what waits.
extension SidecarDriver {
    static let spanDrainInterval = TimeAmount.milliseconds(250)

    func configureTracing(_ spec: TracingSpec?) {
        spanReporter.configure(spec)
        guard spec != nil else {
            stopTracing()
            return
        }
        guard spanDrain == nil else { return }
        spanDrain = eventLoop.scheduleRepeatedTask(initialDelay: Self.spanDrainInterval, delay: Self.spanDrainInterval) { [self] _ in
            deliver(engine.takeSpans())
        }
        guard settings.spanSink == nil else { return }
        let reporter = spanReporter
        reporterTask = Task { await reporter.run() }
    }

    /// Stops draining and sending (shutdown, or tracing turned off); what is queued is dropped.
    func stopTracing() {
        spanDrain?.cancel()
        spanDrain = nil
        reporterTask?.cancel()
        reporterTask = nil
        deliver(engine.takeSpans())
    }

    /// To the settings' sink when there is one, else to the Zipkin reporter.
    private func deliver(_ spans: [TraceSpan]) {
        guard let sink = settings.spanSink else { return spanReporter.submit(spans) }
        if !spans.isEmpty { sink(spans, spanReporter.epochOffsetMicroseconds) }
    }

    /// Microseconds since the Unix epoch at the driver's instant zero (spans carry wall-clock times).
    static func epochOffsetMicroseconds() -> Int64 {
        Int64(Date().timeIntervalSince1970 * 1_000_000)
    }
}

extension HTTPHeaders {
    /// Tracing's `setRequestHeaders`: the B3 headers (and an `x-request-id`) replace any of the
    /// same names the request has, in one pass that finds whether it has any (a first hop has
    /// none: the headers are then only added) instead of one `replaceOrAdd` scan per header.
    mutating func replaceOrAdd(tracingHeaders: [MeshProxy.HTTPHeader]) {
        if contains(where: { existing in tracingHeaders.contains { Self.sameName(existing.name, $0.name) } }) {
            for header in tracingHeaders { remove(name: header.name) }
        }
        for header in tracingHeaders { add(name: header.name, value: header.value) }
    }

    /// `name` is `lowercaseName` in any case; cheap for the usual names, of other lengths or first letters.
    static func sameName(_ name: String, _ lowercaseName: String) -> Bool {
        guard name.utf8.count == lowercaseName.utf8.count, name.utf8.first.map({ $0 | 0x20 }) == lowercaseName.utf8.first else { return false }
        return name.lowercased() == lowercaseName
    }
}
