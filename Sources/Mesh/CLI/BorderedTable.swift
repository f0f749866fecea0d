/// A bordered text table as FSM's CLI prints `support error-info` (Go's tablewriter with row lines): headers in
/// capitals, each cell wrapped to at most `maxColumnWidth` columns (a cell no wider than its widest
/// line stays as it is), words kept whole, lines broken where the raggedness is least.
struct BorderedTable {
    var header: [String]
    var rows: [[String]]
    var maxColumnWidth = 80

    func rendered() -> String {
        let headerCells = header.map { [$0.uppercased()] }
        let wrappedCells = rows.map { $0.map(wrap) }
        var widths = headerCells.map { $0[0].count }
        for row in wrappedCells {
            for (column, cell) in row.enumerated() where column < widths.count { widths[column] = max(widths[column], cell.width) }
        }
        let wrappedRows = wrappedCells.map { $0.map(\.lines) }
        let border = "+" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "+") + "+\n"
        var text = border + lines(of: headerCells, widths: widths) + border
        for row in wrappedRows { text += lines(of: row, widths: widths) + border }
        return text
    }

    private func lines(of row: [[String]], widths: [Int]) -> String {
        let height = row.map(\.count).max() ?? 1
        var text = ""
        for index in 0..<height {
            let cells = widths.indices.map { column -> String in
                let line = column < row.count && index < row[column].count ? row[column][index] : ""
                return " " + line + String(repeating: " ", count: max(0, widths[column] - line.count)) + " "
            }
            text += "|" + cells.joined(separator: "|") + "|\n"
        }
        return text
    }

    /// A cell's lines: its paragraphs joined into one and wrapped at the width of its widest
    /// line, at most `maxColumnWidth`; the cell claims that width (or its widest word's) for its
    /// column even when the lines came out narrower, as tablewriter does.
    func wrap(_ cell: String) -> (lines: [String], width: Int) {
        let sourceLines = cell.split(separator: "\n", omittingEmptySubsequences: false)
        let width = min(maxColumnWidth, sourceLines.map(\.count).max() ?? 0)
        let words = sourceLines.joined(separator: " ").split(separator: " ", omittingEmptySubsequences: false).map(String.init)
        let lines = Self.leastRagged(words, width: width).map { $0.joined(separator: " ").trimmingSpaces() }
        return (lines.isEmpty ? [""] : lines, max(width, lines.map(\.count).max() ?? 0))
    }

    /// Breaks `words` into lines of at most `width` columns (wider when a word is), minimising the
    /// sum of the squares of each line's unused columns; the last line costs nothing.
    static func leastRagged(_ words: [String], width: Int) -> [[String]] {
        let count = words.count
        guard count > 0 else { return [] }
        let limit = max(width, words.map(\.count).max() ?? 0)
        func length(_ from: Int, _ to: Int) -> Int { words[from...to].reduce(0) { $0 + $1.count } + (to - from) }
        var cost = [Int](repeating: Int.max, count: count + 1)
        var breakAt = [Int](repeating: count, count: count)
        cost[count] = 0
        for start in stride(from: count - 1, through: 0, by: -1) {
            if length(start, count - 1) <= limit {
                cost[start] = 0
                continue
            }
            for next in (start + 1)..<count {
                let used = length(start, next - 1)
                guard used <= limit, cost[next] != Int.max else { continue }
                let spare = limit - used
                if spare * spare + cost[next] < cost[start] {
                    cost[start] = spare * spare + cost[next]
                    breakAt[start] = next
                }
            }
        }
        var lines: [[String]] = []
        var start = 0
        while start < count {
            let end = cost[start] == 0 && length(start, count - 1) <= limit ? count : breakAt[start]
            lines.append(Array(words[start..<max(end, start + 1)]))
            start = max(end, start + 1)
        }
        return lines
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}
