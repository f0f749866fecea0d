import Dispatch
import Foundation

/// SIGTERM / SIGINT for the long-running subcommands (controller, sidecar, demo apps).
enum TerminationSignal {
    /// Returns on the first SIGTERM or SIGINT; the signals' default action (exit) is off from the
    /// call on, so the caller can shut down cleanly. Call it once, after starting up.
    static func wait() async {
        let (stop, continuation) = AsyncStream<Void>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGTERM, SIGINT] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { continuation.yield() }
            source.resume()
            sources.append(source)
        }
        for await _ in stop { break }
        for source in sources { source.cancel() }
    }
}
