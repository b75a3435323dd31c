import Testing

@testable import LatchkeyCore

/// The session cache keys hash their inputs to lower-case hex; cached sessions written by earlier
/// versions must keep their names, so the hex is pinned (SHA-256 of "abc").
@Suite struct DigestTests {
    @Test func digestIsLowerCaseHexOfSHA256() {
        #expect(digest(["abc"]) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(digest(["a", "b"]) == digest(["a\u{1F}b"]))
    }
}
