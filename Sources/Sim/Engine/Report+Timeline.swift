import MeshModel
import MeshProxy

/// Colours of one HTML page: every backend and every status code keeps one colour in every chart.
///
/// A backend's colour is picked from `palette` by an FNV-1a hash of its name; when two backends of
/// the page would share a colour, the later one (in name order) takes the next free entry, so the
/// page never shows two backends alike while the palette lasts. Status codes are coloured by class
/// (green 2xx, blue 3xx, orange 4xx, red 5xx, grey for failed connections), with a lighter shade for
/// each further code of the same class on the page.
struct ReportColors {
    /// No greys (kept for "no backend") and no reds (kept for 5xx and faults).
    static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#393b79", "#e7ba52"]
    /// Responses no backend served (refused, reset, answered by a sidecar).
    static let noBackend = "#cfcfcf"
    static let statusShades: [[String]] = [
        ["#616161", "#9e9e9e", "#bdbdbd"],
        ["#2e7d32", "#66bb6a", "#a5d6a7"],
        ["#1565c0", "#42a5f5", "#90caf9"],
        ["#ef6c00", "#ffa726", "#ffcc80"],
        ["#c62828", "#ef5350", "#ef9a9a"],
    ]

    private var backendColors: [String: String] = [:]
    private var statusCodes: [Int] = []

    init(result: SimulationResult) {
        var names: Set<String> = []
        var codes: Set<Int> = []
        for load in result.loads {
            for entry in load.backends { names.insert(entry.deployment) }
            for entry in load.status { codes.insert(entry.code) }
            for bucket in load.buckets {
                for entry in bucket.backends { names.insert(entry.deployment) }
                for entry in bucket.status { codes.insert(entry.code) }
            }
        }
        var taken = Array(repeating: false, count: ReportColors.palette.count)
        for name in names.sorted() {
            var index = Int(ReportColors.fnv1a(name) % UInt64(ReportColors.palette.count))
            if let free = (0..<taken.count).map({ (index + $0) % taken.count }).first(where: { !taken[$0] }) { index = free }
            taken[index] = true
            backendColors[name] = ReportColors.palette[index]
        }
        statusCodes = codes.sorted()
    }

    func backend(_ name: String) -> String {
        backendColors[name] ?? ReportColors.palette[Int(ReportColors.fnv1a(name) % UInt64(ReportColors.palette.count))]
    }

    func status(_ code: Int) -> String {
        let klass = ReportColors.statusClass(code)
        let rank = statusCodes.filter { ReportColors.statusClass($0) == klass }.firstIndex(of: code) ?? 0
        let shades = ReportColors.statusShades[klass]
        return shades[min(rank, shades.count - 1)]
    }

    /// 0 failed, 1 2xx (and 1xx), 2 3xx, 3 4xx, 4 5xx (and above).
    static func statusClass(_ code: Int) -> Int { code == 0 ? 0 : min(max(code / 100 - 1, 1), 4) }

    /// 64-bit FNV-1a of the UTF-8 bytes: stable across runs and platforms (unlike `Hasher`).
    static func fnv1a(_ text: String) -> UInt64 { StableHash.fnv1a(text) }
}

extension Report {
    /// Responses of every load in one column of the whole-run timeline.
    struct TimelineColumn {
        var status: [Int: Int] = [:]
        var backends: [String: Int] = [:]
        var answered: Int { status.values.reduce(0, +) }
        var served: Int { backends.values.reduce(0, +) }
    }

    /// The whole run in columns of `width`, from 0 to the end of the run, every load summed.
    struct Timeline {
        var width: Int64
        var end: Int64
        var columns: [TimelineColumn]
        /// Each load's span, from its first to the end of its last bucket.
        var loads: [(name: String, start: Int64, end: Int64)]
    }

    /// At most this many columns; longer runs merge neighbouring buckets.
    static let maxTimelineColumns = 300

    static func timeline(_ result: SimulationResult) -> Timeline {
        let second: Int64 = 1_000_000_000
        var width = max(second, result.loads.map(\.bucketWidth.nanoseconds).max() ?? second)
        var end = max(result.virtualTime.nanoseconds, 0)
        for load in result.loads { if let last = load.buckets.last { end = max(end, last.start.nanoseconds + load.bucketWidth.nanoseconds) } }
        if let last = result.events.last { end = max(end, last.at.nanoseconds) }
        while (end + width - 1) / width > Int64(maxTimelineColumns) { width *= 2 }
        let count = max(1, Int((end + width - 1) / width))
        var columns = Array(repeating: TimelineColumn(), count: count)
        var spans: [(name: String, start: Int64, end: Int64)] = []
        for load in result.loads {
            for bucket in load.buckets {
                let index = min(max(0, Int(bucket.start.nanoseconds / width)), count - 1)
                for entry in bucket.status { columns[index].status[entry.code, default: 0] += entry.count }
                for entry in bucket.backends { columns[index].backends[entry.deployment, default: 0] += entry.count }
            }
            let active = load.buckets.filter { !$0.status.isEmpty }
            if let first = active.first, let last = active.last {
                spans.append((load.name, first.start.nanoseconds, last.start.nanoseconds + load.bucketWidth.nanoseconds))
            }
        }
        return Timeline(width: width, end: max(end, width), columns: columns, loads: spans)
    }

    enum MarkerKind: Equatable {
        /// A manifest applied or deleted by a step.
        case change
        /// A configuration reaching the proxies.
        case push
        /// A fault starting or ending, a pod killed or restarted.
        case fault

        var color: String {
            switch self {
            case .change: "#283593"
            case .push: "#757575"
            case .fault: "#c62828"
            }
        }

        var dash: String { self == .push ? " stroke-dasharray=\"4,3\"" : "" }
    }

    /// Which events the timeline marks (load start/finish show as spans instead).
    static func markerKind(_ kind: SimEvent.Kind) -> MarkerKind? {
        switch kind {
        case .change: .change
        case .configPush: .push
        case .fault: .fault
        case .load, .note: nil
        }
    }

    /// Width of `text` in the 11px chart font, estimated so that layout is deterministic.
    static func textWidth(_ text: String) -> Double { Double(text.count) * 6.2 }

    /// `text` cut to `limit` characters with an ellipsis.
    static func shortened(_ text: String, _ limit: Int) -> String {
        text.count <= limit ? text : String(text.prefix(limit - 1)) + "…"
    }

    /// Places intervals in the first lane where they do not overlap; nil when `maxLanes` are full.
    static func assignLanes(_ intervals: [(start: Double, end: Double)], maxLanes: Int) -> [Int?] {
        var laneEnds: [Double] = []
        return intervals.map { interval in
            if let lane = laneEnds.firstIndex(where: { $0 + 4 <= interval.start }) {
                laneEnds[lane] = interval.end
                return lane
            }
            guard laneEnds.count < maxLanes else { return nil }
            laneEnds.append(interval.end)
            return laneEnds.count - 1
        }
    }

    /// A tick step (in nanoseconds) giving at most about 12 labelled ticks.
    static func tickStep(_ end: Int64) -> Int64 {
        let steps: [Int64] = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000]
        for milliseconds in steps where end / (milliseconds * 1_000_000) <= 12 { return milliseconds * 1_000_000 }
        return 3_600_000 * 1_000_000 * max(1, end / (3_600_000 * 1_000_000 * 12) + 1)
    }

    struct TimelineSeries {
        var label: String
        var color: String
        var count: (TimelineColumn) -> Int
    }

    /// The whole run: 100%-stacked columns of `series` per time column, event markers with labels
    /// above the plot, and (with `showLoads`) each load's span under the time axis.
    static func timelineChart(_ timeline: Timeline, title: String, series: [TimelineSeries], events: [SimEvent], showLoads: Bool) -> String {
        let width = 1040.0, left = 44.0, right = 14.0, plotHeight = 180.0, laneHeight = 14.0
        let plotWidth = width - left - right
        let end = Double(timeline.end)
        func x(_ nanoseconds: Int64) -> Double { left + plotWidth * Double(nanoseconds) / end }

        // Marker labels: in lanes above the plot, right of the marker (left of it near the right edge).
        let markers = events.compactMap { event in markerKind(event.kind).map { (event: event, kind: $0) } }
        let labels = markers.map { "\($0.event.at) " + shortened($0.event.text, 40) }
        var spans: [(start: Double, end: Double)] = []
        for (marker, label) in zip(markers, labels) {
            let at = x(marker.event.at.nanoseconds), w = textWidth(label)
            spans.append(at + 3 + w <= width - 2 ? (at, at + 3 + w) : (at - 3 - w, at))
        }
        let order = spans.indices.sorted { (spans[$0].start, $0) < (spans[$1].start, $1) }
        let sortedLanes = assignLanes(order.map { spans[$0] }, maxLanes: 6)
        var lanes = Array(repeating: Int?.none, count: spans.count)
        for (position, index) in order.enumerated() { lanes[index] = sortedLanes[position] }
        let laneCount = (lanes.compactMap { $0 }.max() ?? -1) + 1
        let top = 30.0 + Double(laneCount) * laneHeight + 6
        let plotBottom = top + plotHeight

        // Load spans: lanes under the time axis.
        let loadSpans = showLoads ? timeline.loads : []
        let loadIntervals = loadSpans.map { span in (start: x(span.start), end: max(x(span.end), x(span.start) + textWidth(span.name) + 8)) }
        let loadLanes = assignLanes(loadIntervals, maxLanes: 8)
        let loadLaneCount = (loadLanes.compactMap { $0 }.max() ?? -1) + 1
        let loadsTop = plotBottom + 24
        let legendTop = loadsTop + Double(loadLaneCount) * 16 + (loadLaneCount > 0 ? 6 : 0)
        let legendEntries = series.map { (label: $0.label, color: $0.color, dash: "", isLine: false) }
            + [MarkerKind.change, .push, .fault].filter { kind in markers.contains { $0.kind == kind } }.map { kind in
                (label: kind == .change ? "manifest applied/deleted" : kind == .push ? "config pushed" : "fault", color: kind.color, dash: kind.dash, isLine: true)
            }
        var legendX = left, legendY = legendTop
        var legendPlaces: [(x: Double, y: Double)] = []
        for entry in legendEntries {
            let w = 18 + textWidth(entry.label) + 18
            if legendX + w > width - right, legendX > left { legendX = left; legendY += 16 }
            legendPlaces.append((legendX, legendY))
            legendX += w
        }
        let height = legendY + 24

        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-label=\"\(HTMLWriter.escape(title))\">\n"
        svg += "<text class=\"title\" x=\"8\" y=\"18\">\(HTMLWriter.escape(title))</text>\n"
        svg += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"#f7f7f7\"/>\n"

        // Columns.
        for (index, column) in timeline.columns.enumerated() {
            let counts = series.map { $0.count(column) }
            let total = counts.reduce(0, +)
            guard total > 0 else { continue }
            let start = Int64(index) * timeline.width
            let x0 = x(start), x1 = x(min(start + timeline.width, timeline.end))
            let w = max(x1 - x0 - (x1 - x0 > 4 ? 1 : 0), 0.5)
            var y = plotBottom
            for (seriesIndex, count) in counts.enumerated() where count > 0 {
                let h = plotHeight * Double(count) / Double(total)
                y -= h
                let span = "\(MeshDuration(nanoseconds: start))-\(MeshDuration(nanoseconds: min(start + timeline.width, timeline.end)))"
                svg += "<rect x=\"\(n(x0))\" y=\"\(n(y))\" width=\"\(n(w))\" height=\"\(n(h))\" fill=\"\(series[seriesIndex].color)\"><title>\(HTMLWriter.escape(series[seriesIndex].label)) \(span): \(count) of \(total) (\(ReportFormat.percent(fraction(count, of: total))))</title></rect>"
            }
            svg += "\n"
        }

        // Share grid and time axis.
        for tick in [0, 25, 50, 75, 100] {
            let y = top + plotHeight * (1 - Double(tick) / 100)
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(width - right))\" y2=\"\(n(y))\" stroke=\"#fff\" stroke-opacity=\"0.4\"/>"
            if tick % 50 == 0 { svg += "<text x=\"\(n(left - 4))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(tick)%</text>" }
            svg += "\n"
        }
        let step = tickStep(timeline.end)
        var tick: Int64 = 0
        while tick <= timeline.end {
            let tx = x(tick)
            svg += "<line x1=\"\(n(tx))\" y1=\"\(n(plotBottom))\" x2=\"\(n(tx))\" y2=\"\(n(plotBottom + 4))\" stroke=\"#555\"/>"
            let anchor = tick == 0 ? "start" : (tx > width - right - 20 ? "end" : "middle")
            svg += "<text x=\"\(n(tx))\" y=\"\(n(plotBottom + 15))\" text-anchor=\"\(anchor)\">\(MeshDuration(nanoseconds: tick))</text>\n"
            tick += step
        }
        svg += "<line x1=\"\(n(left))\" y1=\"\(n(plotBottom))\" x2=\"\(n(width - right))\" y2=\"\(n(plotBottom))\" stroke=\"#555\"/>\n"

        // Event markers, drawn over the columns.
        for (index, marker) in markers.enumerated() {
            let mx = x(marker.event.at.nanoseconds)
            let lane = lanes[index]
            let lineTop = lane.map { 30.0 + Double($0) * laneHeight + 3 } ?? top
            let tooltip = "<title>\(HTMLWriter.escape("\(marker.event.at) \(marker.event.text)"))</title>"
            svg += "<line x1=\"\(n(mx))\" y1=\"\(n(lineTop))\" x2=\"\(n(mx))\" y2=\"\(n(plotBottom))\" stroke=\"\(marker.kind.color)\" stroke-width=\"1.5\"\(marker.kind.dash)>\(tooltip)</line>"
            if let lane {
                let y = 30.0 + Double(lane) * laneHeight + 10
                let rightSide = spans[index].start >= mx
                svg += "<text x=\"\(n(rightSide ? mx + 3 : mx - 3))\" y=\"\(n(y))\" text-anchor=\"\(rightSide ? "start" : "end")\" fill=\"\(marker.kind.color)\" style=\"fill: \(marker.kind.color)\">\(HTMLWriter.escape(labels[index]))\(tooltip)</text>"
            }
            svg += "\n"
        }

        // Load spans.
        for (index, span) in loadSpans.enumerated() {
            guard let lane = loadLanes[index] else { continue }
            let y = loadsTop + Double(lane) * 16
            let x0 = x(span.start), x1 = max(x(span.end), x0 + 1)
            svg += "<rect x=\"\(n(x0))\" y=\"\(n(y))\" width=\"\(n(x1 - x0))\" height=\"4\" fill=\"#90a4ae\"/>"
            svg += "<text x=\"\(n(x0))\" y=\"\(n(y + 14))\">load \(HTMLWriter.escape(span.name))<title>load \(HTMLWriter.escape(span.name)): \(MeshDuration(nanoseconds: span.start))-\(MeshDuration(nanoseconds: span.end))</title></text>\n"
        }

        // Legend.
        for (entry, place) in zip(legendEntries, legendPlaces) {
            if entry.isLine {
                svg += "<line x1=\"\(n(place.x))\" y1=\"\(n(place.y + 7))\" x2=\"\(n(place.x + 12))\" y2=\"\(n(place.y + 7))\" stroke=\"\(entry.color)\" stroke-width=\"2\"\(entry.dash)/>"
            } else {
                svg += "<rect x=\"\(n(place.x))\" y=\"\(n(place.y + 2))\" width=\"12\" height=\"10\" fill=\"\(entry.color)\"/>"
            }
            svg += "<text x=\"\(n(place.x + 17))\" y=\"\(n(place.y + 11))\">\(HTMLWriter.escape(entry.label))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// The "whole run" section: responses by backend and by status over virtual time, every load together.
    func timelineSection(colors: ReportColors) -> String {
        guard result.loads.contains(where: { !$0.buckets.isEmpty }) else { return "" }
        let timeline = Report.timeline(result)
        var backendNames: [String] = []
        var codes: Set<Int> = []
        var unserved = false
        for column in timeline.columns {
            for name in column.backends.keys where !backendNames.contains(name) { backendNames.append(name) }
            codes.formUnion(column.status.keys)
            if column.answered > column.served { unserved = true }
        }
        backendNames.sort()
        var out = "<section>\n<h2>Whole run</h2>\n<p class=\"meta\">Share of the responses of every load, per \(MeshDuration(nanoseconds: timeline.width)) of virtual time; vertical lines mark manifest changes, config pushes and faults.</p>\n"
        if !backendNames.isEmpty {
            var series = backendNames.map { name in TimelineSeries(label: name, color: colors.backend(name), count: { $0.backends[name] ?? 0 }) }
            if unserved {
                series.append(TimelineSeries(label: "no backend (failed or answered by a sidecar)", color: ReportColors.noBackend, count: { $0.answered - $0.served }))
            }
            out += Report.timelineChart(timeline, title: "Responses by backend over time", series: series, events: result.events, showLoads: true)
        }
        if !codes.isEmpty {
            let series = codes.sorted().map { code in TimelineSeries(label: Report.statusLabel(code), color: colors.status(code), count: { $0.status[code] ?? 0 }) }
            out += Report.timelineChart(timeline, title: "Responses by status over time", series: series, events: result.events, showLoads: backendNames.isEmpty)
        }
        return out + "</section>\n"
    }
}
