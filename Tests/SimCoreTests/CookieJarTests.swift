import SimCore
import Testing

/// A load's cookie jar (`cookies: true`), as the simulator's loads and the real run's keep it.
struct CookieJarTests {
    @Test func keepsEachCookieByNameAndSendsThemTogether() {
        var jar = CookieJar()
        #expect(jar.isEmpty && jar.header == nil)
        jar.keep(setCookies: ["_srv_id=7252425551334343; path=/; max-age=3600", "lang=en"])
        #expect(jar.header == "_srv_id=7252425551334343; lang=en")
        // A later cookie of the same name replaces the first (and goes last, as it was set last).
        jar.keep(setCookies: ["_srv_id=1"])
        #expect(jar.header == "lang=en; _srv_id=1")
    }

    @Test func ignoresASetCookieWithoutAName() {
        var jar = CookieJar()
        jar.keep(setCookies: ["=nameless", "novalue", ""])
        #expect(jar.isEmpty)
    }
}
