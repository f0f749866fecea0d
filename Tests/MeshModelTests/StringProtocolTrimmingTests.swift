import MeshModel
import Testing

/// `trimming(while:)`, the standard library's stand-in for Foundation's `trimmingCharacters(in:)`
/// in the modules the sidecar links.
@Suite struct StringProtocolTrimmingTests {
    @Test func bothEndsGoTheMiddleStays() {
        #expect(" \t tok en \n\r\n".trimming(while: \.isWhitespace) == "tok en")
        #expect("token".trimming(while: \.isWhitespace) == "token")
        #expect(Substring("  a  ").trimming(while: { $0 == " " }) == "a")
    }

    @Test func nothingButDroppedCharactersIsEmpty() {
        #expect(" \n ".trimming(while: \.isWhitespace).isEmpty)
        #expect("".trimming(while: \.isWhitespace).isEmpty)
    }

    @Test func whitespaceWithoutLineBreaksKeepsThem() {
        #expect(" x \n".trimming(while: { $0.isWhitespace && !$0.isNewline }) == "x \n")
    }
}
