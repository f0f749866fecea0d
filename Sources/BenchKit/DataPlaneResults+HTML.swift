import Foundation

extension DataPlaneResults {
    /// A self-contained page with inline SVG charts in the shape of the guides' benchmark figures:
    /// P50/P90/P99/P999 by concurrency (one line per mode), then proxy CPU and memory per mode.
    public func html() -> String {
        let cs = concurrencies
        var page = """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>Data-plane benchmark</title>
        <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
        svg{background:#fff;border:1px solid #ddd;margin:.5em 0}table{border-collapse:collapse}
        td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}</style></head><body>
        <h1>Data-plane benchmark</h1>
        <p>\(escape(date)) · \(escape(machine)) · <code>\(escape(command))</code></p>

        """
        if !notes.isEmpty { page += "<ul>" + notes.map { "<li>\(escape($0))</li>" }.joined() + "</ul>\n" }
        let shownModes = modes
        for (name, path) in [("P50", \LatencyRun.p50), ("P90", \LatencyRun.p90), ("P99", \LatencyRun.p99), ("P999", \LatencyRun.p999)] {
            let series = shownModes.map { mode in
                (mode.rawValue, cs.map { c in run(mode, connections: c).map { Double($0[keyPath: path]) / 1000 } })
            }
            page += SVGChart.lines(title: "\(name) latency (ms) by concurrency at \(format(latency.first?.requestedQPS, digits: 0)) QPS",
                                   xLabels: cs.map(String.init), series: series) + "\n"
        }
        let proxied = shownModes.filter { $0 != .baseline }
        var cpuBars: [(String, Double)] = []
        var memoryBars: [(String, Double)] = []
        for mode in proxied {
            for side in ["client", "server"] {
                let runs = latency.filter { $0.mode == mode }
                let cores = runs.compactMap { $0.milliCores(side) }
                guard !cores.isEmpty else { continue }
                let label = mode.hops > 1 ? "\(mode.rawValue) \(side)" : mode.rawValue
                cpuBars.append((label, cores.reduce(0, +) / Double(cores.count)))
                if let peak = peakRSSKiB(mode, side: side) { memoryBars.append((label, Double(peak) / 1024)) }
            }
        }
        page += SVGChart.bars(title: "Proxy CPU (average millicores per proxy over the open-loop runs)", bars: cpuBars) + "\n"
        page += SVGChart.bars(title: "Proxy peak memory (VmHWM, MiB)", bars: memoryBars) + "\n"
        if !throughput.isEmpty {
            page += SVGChart.bars(title: "Closed-loop throughput through one proxy (req/s)", bars: throughput.map { ("\($0.mode.rawValue) (\($0.tool))", $0.requestsPerSecond) }) + "\n"
        }
        page += "<h2>Targets</h2><table><tr><th>target</th><th>measured</th><th>met</th></tr>"
        for check in targetChecks() {
            page += "<tr><td>\(escape(check.target))</td><td>\(escape(check.measured))</td><td>\(check.met.map { $0 ? "yes" : "no" } ?? "not measured")</td></tr>"
        }
        page += "</table>\n</body></html>\n"
        return page
    }
}

func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
        .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
}

/// Minimal inline SVG charts (no script, no external assets).
enum SVGChart {
    static let palette = ["#444444", "#1f77b4", "#2ca02c", "#17becf", "#d62728", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22"]

    static func niceMaximum(_ value: Double) -> Double {
        guard value > 0 else { return 1 }
        let magnitude = pow(10, floor(log10(value)))
        for step in [1.0, 2, 2.5, 5, 10] where step * magnitude >= value { return step * magnitude }
        return 10 * magnitude
    }

    /// One polyline per series over evenly spaced categories; missing points break nothing (skipped).
    static func lines(title: String, xLabels: [String], series: [(String, [Double?])]) -> String {
        let width = 900.0, height = 360.0, left = 60.0, right = 200.0, top = 30.0, bottom = 40.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let top_ = niceMaximum(series.flatMap { $0.1.compactMap { $0 } }.max() ?? 1)
        func x(_ index: Int) -> Double { left + (xLabels.count > 1 ? plotWidth * Double(index) / Double(xLabels.count - 1) : plotWidth / 2) }
        func y(_ value: Double) -> Double { top + plotHeight * (1 - value / top_) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" role=\"img\">"
        svg += "<title>\(escape(title))</title><text x=\"\(left)\" y=\"18\" font-size=\"14\">\(escape(title))</text>"
        for tick in 0...4 {
            let value = top_ * Double(tick) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(left + plotWidth)\" y1=\"\(y(value))\" y2=\"\(y(value))\" stroke=\"#eee\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(value) + 4)\" font-size=\"11\" text-anchor=\"end\">\(format(value, digits: value < 10 ? 2 : 0))</text>"
        }
        for (index, label) in xLabels.enumerated() {
            svg += "<text x=\"\(x(index))\" y=\"\(top + plotHeight + 16)\" font-size=\"11\" text-anchor=\"middle\">\(escape(label))</text>"
        }
        svg += "<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 6)\" font-size=\"11\" text-anchor=\"middle\">concurrency (connections)</text>"
        for (number, (name, values)) in series.enumerated() {
            let color = palette[number % palette.count]
            let points = values.enumerated().compactMap { index, value in value.map { "\(format(x(index), digits: 1)),\(format(y($0), digits: 1))" } }
            svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
            for point in points {
                let xy = point.split(separator: ",")
                svg += "<circle cx=\"\(xy[0])\" cy=\"\(xy[1])\" r=\"3\" fill=\"\(color)\"/>"
            }
            let legendY = top + 16 * Double(number)
            svg += "<rect x=\"\(left + plotWidth + 14)\" y=\"\(legendY)\" width=\"12\" height=\"3\" fill=\"\(color)\"/>"
            svg += "<text x=\"\(left + plotWidth + 30)\" y=\"\(legendY + 5)\" font-size=\"11\">\(escape(name))</text>"
        }
        return svg + "</svg>"
    }

    /// Horizontal bars with their values written at the end.
    static func bars(title: String, bars: [(String, Double)]) -> String {
        let rowHeight = 20.0, left = 200.0, plotWidth = 600.0, top = 30.0
        let height = top + rowHeight * Double(max(bars.count, 1)) + 10
        let maximum = niceMaximum(bars.map(\.1).max() ?? 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"\(Int(height))\" role=\"img\">"
        svg += "<title>\(escape(title))</title><text x=\"10\" y=\"18\" font-size=\"14\">\(escape(title))</text>"
        for (index, (name, value)) in bars.enumerated() {
            let y = top + rowHeight * Double(index)
            let length = plotWidth * value / maximum
            svg += "<text x=\"\(left - 6)\" y=\"\(y + 13)\" font-size=\"11\" text-anchor=\"end\">\(escape(name))</text>"
            svg += "<rect x=\"\(left)\" y=\"\(y + 3)\" width=\"\(format(length, digits: 1))\" height=\"14\" fill=\"\(palette[(index + 1) % palette.count])\"/>"
            svg += "<text x=\"\(format(left + length + 4, digits: 1))\" y=\"\(y + 13)\" font-size=\"11\">\(format(value, digits: value < 10 ? 2 : 0))</text>"
        }
        return svg + "</svg>"
    }
}
