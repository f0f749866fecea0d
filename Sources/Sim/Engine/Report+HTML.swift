import MeshModel

extension Report {
    /// Columns of the "shares over time" chart; longer runs merge neighbouring buckets.
    static let maxChartColumns = 120

    /// One self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched from the network).
    public func html() -> String {
        var page = HTMLWriter()
        let scenario = result.scenario
        page.raw("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
        page.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
        page.raw("<title>sim: \(HTMLWriter.escape(scenario.name))</title>\n<style>\n\(Report.css)</style>\n</head>\n<body>\n")

        page.raw("<header>\n<h1>\(HTMLWriter.escape(scenario.name)) <span class=\"verdict \(passed ? "pass" : "fail")\">\(passed ? "PASS" : "FAIL")</span></h1>\n")
        if !scenario.description.isEmpty { page.raw("<p>\(HTMLWriter.escape(scenario.description))</p>\n") }
        page.raw("<p class=\"meta\">seed <b>\(result.seed)</b> · virtual time <b>\(HTMLWriter.escape(result.virtualTime.description))</b> · \(result.eventsProcessed) events processed")
        if !scenario.file.isEmpty { page.raw(" · file <code>\(HTMLWriter.escape(scenario.file))</code>") }
        page.raw("</p>\n<p class=\"note\">Latencies are <b>modelled</b>: virtual time computed by the simulator's network and cost models, not wall-clock measurements.</p>\n</header>\n")

        let colors = ReportColors(result: result)
        page.raw(timelineSection(colors: colors))

        if !outcomes.isEmpty {
            page.raw("<section>\n<h2>Expectations</h2>\n<table>\n<tr><th>result</th><th>expectation</th><th>observed</th></tr>\n")
            for outcome in outcomes {
                page.raw("<tr class=\"\(outcome.passed ? "pass" : "fail")\"><td>\(outcome.passed ? "PASS" : "FAIL")</td><td>\(HTMLWriter.escape(outcome.expectation.text))</td><td>\(HTMLWriter.escape(outcome.observed))</td></tr>\n")
            }
            page.raw("</table>\n</section>\n")
        }

        for load in result.loads {
            page.raw("<section>\n<h2>Load <code>\(HTMLWriter.escape(load.name))</code></h2>\n")
            let answered = load.status.reduce(0) { $0 + $1.count }
            page.raw("<p>\(ReportFormat.count(load.requests, "request")) · status ")
            page.raw(load.status.map { "<b>\(HTMLWriter.escape(Report.statusLabel($0.code)))</b> \($0.count) (\(ReportFormat.percent(Report.fraction($0.count, of: answered))))" }.joined(separator: ", "))
            if !load.backends.isEmpty {
                let served = load.backends.reduce(0) { $0 + $1.count }
                page.raw(" · backends ")
                page.raw(load.backends.map { "<b>\(HTMLWriter.escape($0.deployment))</b> \($0.count) (\(ReportFormat.percent(Report.fraction($0.count, of: served))))" }.joined(separator: ", "))
            }
            if !load.bodies.isEmpty {
                let withBody = load.bodies.reduce(0) { $0 + $1.count }
                page.raw(" · bodies ")
                page.raw(load.bodies.map { "<q>\(HTMLWriter.escape($0.text))</q> \($0.count) (\(ReportFormat.percent(Report.fraction($0.count, of: withBody))))" }.joined(separator: ", "))
            }
            if !load.responseFlags.isEmpty {
                page.raw(" · response flags ")
                page.raw(load.responseFlags.map { "<b>\(HTMLWriter.escape($0.flags))</b> \($0.count)" }.joined(separator: ", "))
            }
            page.raw("</p>\n<div class=\"charts\">\n")
            page.raw(Report.latencyChart(load))
            if load.buckets.count > 0 {
                if !load.backends.isEmpty {
                    let series = load.backends.map { (label: $0.deployment, key: SeriesKey.backend($0.deployment), color: colors.backend($0.deployment)) }
                    page.raw(Report.sharesChart(load, title: "Responses by backend over time", series: series))
                }
                let statusSeries = load.status.map { (label: Report.statusLabel($0.code), key: SeriesKey.status($0.code), color: colors.status($0.code)) }
                if !statusSeries.isEmpty {
                    page.raw(Report.sharesChart(load, title: "Responses by status over time", series: statusSeries))
                }
            }
            page.raw("</div>\n</section>\n")
        }

        if !result.apps.isEmpty {
            page.raw("<section>\n<h2>Apps</h2>\n<table>\n<tr><th>deployment</th><th class=\"num\">requests received</th><th>model counters</th></tr>\n")
            for app in result.apps {
                let counters = app.counters.map { "\(HTMLWriter.escape($0.name)) <b>\($0.value)</b>" }.joined(separator: ", ")
                page.raw("<tr><td>\(HTMLWriter.escape(app.deployment))</td><td class=\"num\">\(app.received)</td><td>\(counters)</td></tr>\n")
            }
            page.raw("</table>\n</section>\n")
        }

        if !result.proxies.isEmpty {
            page.raw("<section>\n<h2>Proxies (modelled cost)</h2>\n<table>\n<tr><th>pod</th><th class=\"num\">cpu (ms)</th><th class=\"num\">memory</th><th class=\"num\">config (bytes)</th></tr>\n")
            for proxy in result.proxies {
                page.raw("<tr><td>\(HTMLWriter.escape(proxy.pod))</td><td class=\"num\">\(ReportFormat.fixed(proxy.cpuMs, 3))</td><td class=\"num\">\(ReportFormat.bytes(proxy.memoryBytes))</td><td class=\"num\">\(proxy.configBytes)</td></tr>\n")
            }
            page.raw("</table>\n</section>\n")
        }

        if let traces = result.traces { page.raw(tracesHTML(traces)) }

        if !result.events.isEmpty {
            page.raw("<section>\n<h2>Events</h2>\n<table>\n<tr><th class=\"num\">at</th><th>event</th></tr>\n")
            for event in result.events {
                page.raw("<tr><td class=\"num\">\(HTMLWriter.escape(event.at.description))</td><td>\(HTMLWriter.escape(event.text))</td></tr>\n")
            }
            page.raw("</table>\n</section>\n")
        }

        page.raw("<footer>Generated by <code>sim</code>. The same scenario and seed give the same page.</footer>\n</body>\n</html>\n")
        return page.text
    }

    static let css = """
    body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; padding: 0 1em; }
    h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.6em; }
    .meta { color: #555; } .note { background: #fff8e1; border-left: 4px solid #f9a825; padding: 0.4em 0.8em; }
    .verdict { font-size: 0.6em; padding: 0.15em 0.5em; border-radius: 4px; color: #fff; vertical-align: middle; }
    .verdict.pass { background: #2e7d32; } .verdict.fail { background: #c62828; }
    table { border-collapse: collapse; margin: 0.5em 0; } th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; }
    th { background: #f5f5f5; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    tr.pass td:first-child { color: #2e7d32; font-weight: bold; } tr.fail td:first-child { color: #c62828; font-weight: bold; }
    .charts { display: flex; flex-wrap: wrap; gap: 1.5em; } svg { background: #fff; border: 1px solid #eee; max-width: 100%; height: auto; }
    svg.timeline { display: block; margin: 0.6em 0; }
    svg text { font-family: inherit; font-size: 11px; fill: #333; } svg .title { font-size: 13px; font-weight: bold; }
    footer { margin-top: 2em; color: #888; font-size: 0.85em; }

    """

    /// Horizontal bars of P50/P90/P99/P999/max, each labelled with its rounded duration; on a log
    /// scale when they span more than `BarScale.logThreshold` (the title says so).
    static func latencyChart(_ load: LoadResult) -> String {
        let values: [(String, Double)] = [("p50", load.latency.p50), ("p90", load.latency.p90), ("p99", load.latency.p99), ("p999", load.latency.p999), ("max", load.latency.max)]
        let width = 420.0, labelWidth = 48.0, valueWidth = 84.0, rowHeight = 26.0, top = 28.0
        let height = top + rowHeight * Double(values.count) + 10
        let scale = BarScale(values: values.map(\.1), length: width - labelWidth - valueWidth - 10)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-label=\"modelled latency percentiles\">\n"
        svg += "<text class=\"title\" x=\"8\" y=\"18\">Latency (modelled\(scale.isLogarithmic ? ", log scale" : ""))</text>\n"
        for (index, (label, value)) in values.enumerated() {
            let y = top + rowHeight * Double(index)
            let barWidth = scale.bar(value)
            svg += "<text x=\"8\" y=\"\(n(y + 16))\">\(label)</text>"
            svg += "<rect x=\"\(n(labelWidth))\" y=\"\(n(y + 4))\" width=\"\(n(barWidth))\" height=\"\(n(rowHeight - 8))\" fill=\"#1f77b4\"/>"
            svg += "<text x=\"\(n(labelWidth + barWidth + 6))\" y=\"\(n(y + 16))\">\(ReportFormat.milliseconds(value))<title>\(label) \(ReportFormat.exactMilliseconds(value))</title></text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    enum SeriesKey {
        case backend(String)
        case status(Int)
    }

    /// 100%-stacked columns per time bucket: how the responses split between the series over time.
    static func sharesChart(_ load: LoadResult, title: String, series: [(label: String, key: SeriesKey, color: String)]) -> String {
        let groups = groupBuckets(load.buckets, width: load.bucketWidth, maxGroups: maxChartColumns)
        let width = 640.0, left = 40.0, right = 10.0, top = 28.0, plotHeight = 160.0, legendRow = 16.0
        let legendRows = Double((series.count + 3) / 4)
        let height = top + plotHeight + 22 + legendRow * legendRows + 8
        let column = (width - left - right) / Double(max(groups.count, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(n(width))\" height=\"\(n(height))\" viewBox=\"0 0 \(n(width)) \(n(height))\" role=\"img\" aria-label=\"\(HTMLWriter.escape(title))\">\n"
        svg += "<text class=\"title\" x=\"8\" y=\"18\">\(HTMLWriter.escape(title))</text>\n"
        for tick in [0, 50, 100] {
            let y = top + plotHeight * (1 - Double(tick) / 100)
            svg += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(width - right))\" y2=\"\(n(y))\" stroke=\"#ddd\"/><text x=\"4\" y=\"\(n(y + 4))\">\(tick)%</text>\n"
        }
        for (index, group) in groups.enumerated() {
            let counts = series.map { entry -> Int in
                switch entry.key {
                case .backend(let name): group.backends[name] ?? 0
                case .status(let code): group.status[code] ?? 0
                }
            }
            let total = counts.reduce(0, +)
            guard total > 0 else { continue }
            var y = top + plotHeight
            let x = left + column * Double(index)
            for (seriesIndex, count) in counts.enumerated() where count > 0 {
                let h = plotHeight * Double(count) / Double(total)
                y -= h
                svg += "<rect x=\"\(n(x))\" y=\"\(n(y))\" width=\"\(n(max(column - (column > 4 ? 1 : 0), 0.5)))\" height=\"\(n(h))\" fill=\"\(series[seriesIndex].color)\"><title>\(HTMLWriter.escape(series[seriesIndex].label)) \(group.start)-\(group.end): \(count) of \(total)</title></rect>"
            }
            svg += "\n"
        }
        if let first = groups.first, let last = groups.last {
            svg += "<text x=\"\(n(left))\" y=\"\(n(top + plotHeight + 14))\">\(first.start)</text>"
            svg += "<text x=\"\(n(width - right))\" y=\"\(n(top + plotHeight + 14))\" text-anchor=\"end\">\(last.end)</text>\n"
        }
        for (index, entry) in series.enumerated() {
            let x = left + Double(index % 4) * 150
            let y = top + plotHeight + 22 + legendRow * Double(index / 4)
            svg += "<rect x=\"\(n(x))\" y=\"\(n(y + 2))\" width=\"10\" height=\"10\" fill=\"\(entry.color)\"/><text x=\"\(n(x + 14))\" y=\"\(n(y + 11))\">\(HTMLWriter.escape(entry.label))</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }

    /// SVG coordinates with one decimal: short and deterministic.
    static func n(_ value: Double) -> String {
        let text = ReportFormat.fixed(value, 1)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }
}

/// Accumulates the page; `escape` makes text safe in element content and attribute values.
struct HTMLWriter {
    var text = ""

    mutating func raw(_ fragment: String) { text += fragment }

    static func escape(_ value: String) -> String {
        var out = ""
        out.reserveCapacity(value.utf8.count)
        for character in value {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
