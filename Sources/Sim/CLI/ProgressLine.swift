#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MeshModel
import SimCore

/// What `sim` shows on standard error while a run takes longer than `delay` of wall time: the
/// virtual time reached and the events processed per second, once a second (rewritten in place
/// on a terminal, one line each otherwise). The simulation only reports; the wall clock is read
/// here, in the shell. `--quiet` turns it off.
final class ProgressLine {
    let name: String
    let delay: Duration
    private let start = ContinuousClock.now
    private var lastShown: ContinuousClock.Instant?
    private let onTerminal = isatty(STDERR_FILENO) != 0

    init(name: String, delay: Duration) {
        self.name = name
        self.delay = delay
    }

    func report(_ progress: SimProgress) {
        let now = ContinuousClock.now
        guard now - start >= delay else { return }
        if let lastShown, now - lastShown < .seconds(1) { return }
        lastShown = now
        let text = Self.text(name: name, progress: progress, elapsed: now - start)
        if onTerminal { Console.error("\r\u{1B}[K" + text, newline: false) } else { Console.error(text) }
    }

    /// Clears the line on a terminal once the run is over.
    func finish() {
        if onTerminal, lastShown != nil { Console.error("\r\u{1B}[K", newline: false) }
    }

    /// `sim: canary: virtual time 12.5s of 30.0s, 1.31M events (412k/s)`.
    static func text(name: String, progress: SimProgress, elapsed: Duration) -> String {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(progress.events) / seconds : 0
        return "sim: \(name): virtual time \(progress.virtualTime.readable)" + (progress.endTime.map { " of \($0.readable)" } ?? "")
            + ", \(compact(Double(progress.events))) events (\(compact(rate))/s)"
    }

    /// `950`, `12.3k`, `1.31M`.
    static func compact(_ value: Double) -> String {
        for (suffix, size) in [("M", 1e6), ("k", 1e3)] where value >= size {
            let scaled = value / size
            return (scaled >= 100 ? String(Int(scaled.rounded())) : String(format1(scaled, scaled >= 10 ? 1 : 2))) + suffix
        }
        return String(Int(value.rounded()))
    }

    private static func format1(_ value: Double, _ decimals: Int) -> String {
        let scale = decimals == 1 ? 10.0 : 100.0
        let units = Int((value * scale).rounded())
        let fraction = String(units % Int(scale))
        return "\(units / Int(scale))." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
}
