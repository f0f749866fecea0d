import Testing

/// `fsm support error-info [CODE]`: FSM's error-code table (the guides' 8.2) as FSM prints it.
@Suite struct SupportCommandTests {
    @Test func oneCodeIsPrintedAsTheGuideShowsIt() throws {
        let outcome = try BuiltCommand("fsm").run(["support", "error-info", "E1000"])
        #expect(outcome.status == 0)
        #expect(outcome.stdout == """
            +------------+-----------------------------------------------------------------+
            | ERROR CODE | DESCRIPTION                                                     |
            +------------+-----------------------------------------------------------------+
            | E1000      | An invalid command line argument was passed to the              |
            |            | application.                                                    |
            +------------+-----------------------------------------------------------------+

            """)
    }

    @Test func everyCodeWrapsAtEightyColumns() throws {
        let outcome = try BuiltCommand("fsm").run(["support", "error-info"])
        #expect(outcome.status == 0)
        let lines = outcome.stdout.split(separator: "\n")
        let codes = lines.compactMap { line -> Substring? in
            let code = line.dropFirst(2).prefix(5)
            return line.hasPrefix("| ") && code.count == 5 && code.first == "E" && code.dropFirst().allSatisfy(\.isNumber) ? code : nil
        }
        #expect(codes.count == 99 && codes.first == "E1000" && codes.last == "E7005")
        #expect(codes == codes.sorted())
        #expect(lines.allSatisfy { $0.count == 12 + 82 + 3 })
        #expect(lines.first.map(String.init) == "+" + String(repeating: "-", count: 12) + "+" + String(repeating: "-", count: 82) + "+")
        // A long description continues on lines with an empty code column, words whole.
        #expect(outcome.stdout.contains("""
            | E2000      | An error was encountered while attempting to deduplicate traffic matching        |
            |            | attributes (destination port, protocol, IP address etc.) used for matching       |
            """))
    }

    @Test func codesThatAreMalformedOrUnknownSaySo() throws {
        let fsm = try BuiltCommand("fsm")
        let malformed = try fsm.run(["support", "error-info", "1000"])
        #expect(malformed.status == 1)
        #expect(malformed.stderr == "Error: error code '1000' is not a valid error code format, should be of the form Exxxx, ex. E1000\n")
        let unknown = try fsm.run(["support", "error-info", "E9999"])
        #expect(unknown.status == 1)
        #expect(unknown.stderr == "Error: error code 'E9999' is not a valid error code recognized by FSM\n")
    }
}
