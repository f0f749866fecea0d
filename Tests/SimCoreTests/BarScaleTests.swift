import SimCore
import Testing

/// The HTML report's latency bars: a 2.9 ms P50 stays visible beside a 2.8 s max.
@Suite struct BarScaleTests {
    @Test func spreadValuesGoLogarithmicAndStayVisible() {
        let scale = BarScale(values: [2.9, 3.5, 40, 900, 2800], length: 280)
        #expect(scale.isLogarithmic)
        #expect(scale.bar(2800) == 280)
        #expect(scale.bar(2.9) >= 20, "\(scale.bar(2.9))")
        let bars = [2.9, 3.5, 40, 900, 2800].map(scale.bar)
        #expect(bars == bars.sorted())
    }

    @Test func closeValuesStayLinear() {
        let scale = BarScale(values: [1, 2, 4], length: 100)
        #expect(!scale.isLogarithmic)
        #expect(scale.bar(2) == 50)
        #expect(scale.bar(0) == 0)
        #expect(scale.bar(0.001) == 1)
    }
}
