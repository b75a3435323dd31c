import Testing

@testable import LatchkeyCLI

/// A `CLIError` that wraps another error keeps it as a value and renders it only in its message.
@Suite struct CLIErrorTests {
    struct Refused: Error, CustomStringConvertible { var description: String { "permission denied" } }

    @Test func aWrappedErrorIsKeptAndReadsBetweenTheTextAndTheAdvice() {
        let error = CLIError(
            "could not write the QR code to /x.png (", cause: Refused(), "); choose another path.")
        #expect(error.cause is Refused)
        #expect(
            error.description
                == "could not write the QR code to /x.png (permission denied); choose another path.")
        let plain = CLIError("plain")
        #expect(plain.cause == nil && plain.description == "plain")
    }
}
