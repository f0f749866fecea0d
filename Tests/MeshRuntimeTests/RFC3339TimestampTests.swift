import Foundation
@testable import MeshRuntime
import Testing

/// The access log's `start_time`: integer arithmetic that must print what Foundation's ISO 8601
/// style with fractional seconds prints, for every kind of day. Compared at instants whose
/// fraction a `Date` holds exactly (eighths of a second): elsewhere Foundation truncates the
/// binary fraction (`.123` prints `.122`) where this takes the millisecond the double stands for.
struct RFC3339TimestampTests {
    static let foundation = Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: TimeZone(identifier: "UTC")!)

    static let instants: [Int64] = [
        0, 999, 1000, 86_399_999, 86_400_000,
        951_782_400_000,            // 2000-02-29 (a leap day of a century divisible by 400)
        951_868_799_875,            // its last eighth of a second
        4_107_542_400_000,          // 2100-03-01 (2100 has no leap day)
        1_796_575_537_125,          // 2026-12-06T16:45:37.125Z
        1_709_251_199_500,          // 2024-02-29T23:59:59.500Z
        253_402_300_799_875,        // 9999-12-31T23:59:59.875Z
    ]

    @Test(arguments: instants)
    func printsWhatFoundationPrints(milliseconds: Int64) {
        let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
        #expect(RFC3339Timestamp(secondsSince1970: date.timeIntervalSince1970).text == Self.foundation.format(date))
    }

    @Test func everyDayOfFourHundredYearsMatchesFoundation() {
        // One instant per day from 1970 on (a 400-year Gregorian cycle), at a time of day that moves.
        var mismatches = 0
        for day in stride(from: Int64(0), to: 146_097, by: 1) where day % 7 == 0 || day % 1461 < 3 {
            let milliseconds = day * 86_400_000 + (day * 7_919_125) % 86_400_000 / 125 * 125
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            if RFC3339Timestamp(secondsSince1970: date.timeIntervalSince1970).text != Self.foundation.format(date) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func beforeTheEpochFloorsToTheMillisecondBefore() {
        #expect(RFC3339Timestamp(millisecondsSince1970: -1).text == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339Timestamp(secondsSince1970: -0.0005).text == "1969-12-31T23:59:59.999Z")
        #expect(RFC3339Timestamp(secondsSince1970: 1.0009).text == "1970-01-01T00:00:01.000Z")
    }

    @Test func aFractionADoubleCannotHoldPrintsTheMillisecondItStandsFor() {
        #expect(RFC3339Timestamp(secondsSince1970: 1_796_575_537.123).text == "2026-12-06T16:45:37.123Z")
        #expect(RFC3339Timestamp(secondsSince1970: 951_868_799.999).text == "2000-02-29T23:59:59.999Z")
    }
}
