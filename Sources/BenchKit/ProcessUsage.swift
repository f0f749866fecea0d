/// Parsers for the /proc files the benchmark reads for each proxy process (the files are read by
/// the caller; these functions only parse the text, so they are testable with fixed input).
public enum ProcessUsage {
    /// utime + stime in clock ticks from the text of /proc/PID/stat. The command name (field 2)
    /// may contain spaces and parentheses, so fields are counted after its last ')'.
    public static func cpuTicks(statText: String) -> Int? {
        guard let close = statText.lastIndex(of: ")") else { return nil }
        let fields = statText[statText.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After the name: state(3) ppid(4) ... utime is field 14, stime field 15 → offsets 11 and 12.
        guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
        return user + system
    }

    /// A `Key:   value kB` line of /proc/PID/status, in KiB (VmHWM, VmRSS).
    public static func kibibytes(_ key: String, statusText: String) -> Int? {
        for line in statusText.split(separator: "\n") where line.hasPrefix(key + ":") {
            let parts = line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" })
            return parts.first.flatMap { Int($0) }
        }
        return nil
    }
}
