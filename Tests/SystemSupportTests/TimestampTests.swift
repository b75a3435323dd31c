import Foundation
import Testing

import SystemSupport

@Suite("Timestamps")
struct TimestampTests {
    @Test(arguments: [
        ("2011-07-11T19:55:29Z", 1_310_414_129.0),
        ("2011-07-11T19:55:29.611Z", 1_310_414_129.611),
        ("2026-11-29T05:55:13.078085Z", 1_795_931_713.078085),
        ("2011-07-11T21:55:29+02:00", 1_310_414_129.0),
        ("2024-02-29T00:00:00Z", 1_709_164_800.0),
        ("1970-01-01T00:00:00Z", 0.0),
    ])
    func parsesISO8601(text: String, seconds: Double) throws {
        let date = try #require(Timestamps.iso8601(text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.000_01)
    }

    @Test(arguments: [
        "", "2011-07-11", "2011-07-11T19:55:29", "2011-13-11T19:55:29Z", "2023-02-29T00:00:00Z",
        "2011-07-11T19:55:29.Z", "2011-07-11T19:55:29Zjunk", "20110711T195529Z",
    ])
    func rejectsMalformedISO8601(text: String) {
        #expect(Timestamps.iso8601(text) == nil)
    }
}
