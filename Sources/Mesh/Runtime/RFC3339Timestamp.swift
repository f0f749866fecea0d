/// A UTC instant printed as RFC 3339 with milliseconds (`2026-12-06T16:45:00.123Z`), the access
/// log's `start_time`: the same text as Foundation's ISO 8601 style with fractional seconds,
/// computed with integer arithmetic (days to a civil date as in Howard Hinnant's `civil_from_days`)
/// because the formatter's calendar machinery cost more than the rest of a log line.
struct RFC3339Timestamp: Equatable {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int
    var second: Int
    var millisecond: Int

    /// Milliseconds since 1970-01-01T00:00:00Z (negative: before it), floored to the millisecond.
    init(millisecondsSince1970 milliseconds: Int64) {
        let msPerDay: Int64 = 86_400_000
        let days = milliseconds >= 0 ? milliseconds / msPerDay : -((-milliseconds + msPerDay - 1) / msPerDay)
        let inDay = Int(milliseconds - days * msPerDay)
        (year, month, day) = Self.civil(daysSince1970: Int(days))
        hour = inDay / 3_600_000
        minute = inDay / 60_000 % 60
        second = inDay / 1000 % 60
        millisecond = inDay % 1000
    }

    /// Seconds since 1970 (a `Date`'s `timeIntervalSince1970`), floored to the millisecond.
    init(secondsSince1970 seconds: Double) {
        self.init(millisecondsSince1970: Int64((seconds * 1000).rounded(.down)))
    }

    /// The 24 ASCII bytes of the text.
    var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(24)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(year, 4); out.append(UInt8(ascii: "-")); digits(month, 2); out.append(UInt8(ascii: "-")); digits(day, 2)
        out.append(UInt8(ascii: "T"))
        digits(hour, 2); out.append(UInt8(ascii: ":")); digits(minute, 2); out.append(UInt8(ascii: ":")); digits(second, 2)
        out.append(UInt8(ascii: ".")); digits(millisecond, 3); out.append(UInt8(ascii: "Z"))
        return out
    }

    var text: String { String(decoding: bytes, as: UTF8.self) }

    /// Year, month (1-12) and day (1-31) of a day counted from 1970-01-01 in the proleptic Gregorian calendar.
    static func civil(daysSince1970 days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
