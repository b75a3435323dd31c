import Testing

@testable import LatchkeyServer

struct SecurityTests {
    @Test func tokensAreRandom32ByteHex() {
        let first = randomHexToken()
        #expect(first.count == 64)
        #expect(first.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        #expect(first != randomHexToken())
    }

    @Test(arguments: [
        ("abcd", true), ("abce", false), ("abc", false), ("abcde", false), ("", false), ("ABCD", false),
    ])
    func constantTimeComparison(_ presented: String, _ equal: Bool) {
        #expect(constantTimeEquals(presented, Array("abcd".utf8)) == equal)
    }

    /// The length check once kept only the low byte of the length difference.
    @Test(arguments: [256, 512, 1024])
    func lengthsThatDifferByMultiplesOf256AreUnequal(_ extra: Int) {
        let expected = Array("abcd".utf8)
        #expect(!constantTimeEquals("abcd" + String(repeating: "x", count: extra), expected))
        #expect(!constantTimeEquals("abcd", expected + [UInt8](repeating: 0, count: extra)))
    }

    @Test func missingTokenNeverMatches() {
        #expect(!constantTimeEquals(nil, []))
        #expect(!constantTimeEquals(nil, Array("x".utf8)))
    }

    @Test(arguments: [
        ("127.0.0.1:8080", true), ("localhost:8080", true), ("LOCALHOST:8080", true), ("127.0.0.1", false),
        ("localhost:8081", false), ("evil.example:8080", false), ("127.0.0.1:8080.evil", false), ("", false),
    ])
    func hostCheckStopsDNSRebinding(_ host: String, _ allowed: Bool) {
        #expect(HostCheck(port: 8080).allows(host) == allowed)
    }

    @Test func failureBudgetDrainsAndRefills() {
        let clock = ManualSeconds(1000)
        let limiter = FailureRateLimiter(capacity: 3, perSecond: 1, now: { clock.value })
        #expect((0..<3).allSatisfy { _ in limiter.allowFailure() })
        #expect(!limiter.allowFailure())
        clock.value += 1
        #expect(limiter.allowFailure())
        #expect(!limiter.allowFailure())
    }

    @Test func metadataTokensExpireAndCannotBeForged() {
        let issuer = MetadataTokenIssuer()
        let token = issuer.issue(ttl: 60, now: 1000)
        #expect(issuer.isValid(token, now: 1000))
        #expect(issuer.isValid(token, now: 1059))
        #expect(!issuer.isValid(token, now: 1060))
        #expect(!MetadataTokenIssuer().isValid(token, now: 1000))  // another server's key
        // Moving the expiry forward breaks the MAC.
        let forged = String(UInt64(999_999), radix: 16).leftPadded(to: 16) + token.dropFirst(16)
        #expect(!issuer.isValid(forged, now: 1000))
        #expect(!issuer.isValid(String(token.dropLast()), now: 1000))
        #expect(!issuer.isValid(nil, now: 1000))
    }
}

final class ManualSeconds: @unchecked Sendable {
    var value: Double
    init(_ value: Double) { self.value = value }
}
