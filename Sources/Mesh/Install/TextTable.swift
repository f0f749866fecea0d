/// Columns padded to their widest cell plus three spaces, the last column unpadded (the tables
/// the guides show: `fsm namespace list`, `fsm version`).
public enum TextTable {
    public static func render(_ rows: [[String]]) -> String {
        let columns = rows.map(\.count).max() ?? 0
        let widths = (0..<columns).map { column in rows.map { column < $0.count ? $0[column].count : 0 }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] + 3 - cell.count)
            }.joined()
        }.joined(separator: "\n")
    }
}
