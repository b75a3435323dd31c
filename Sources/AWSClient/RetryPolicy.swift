#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Exponential backoff with full jitter, like the AWS SDKs' "standard" retry mode.
///
/// Delay before retry `n` (1-based) is `random(0 ... min(maxBackoff, baseDelay * 2^(n-1)))`.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var baseDelay: Duration
    public var maxBackoff: Duration
    /// Sleeps between attempts; tests inject one that records the delays.
    public var sleep: @Sendable (Duration) async throws -> Void
    /// A uniform random number in 0...1; tests inject a fixed one.
    public var random: @Sendable () -> Double

    public init(
        maxAttempts: Int = 3, baseDelay: Duration = .milliseconds(100), maxBackoff: Duration = .seconds(20),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
        random: @escaping @Sendable () -> Double = { Double.random(in: 0...1) }
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxBackoff = maxBackoff
        self.sleep = sleep
        self.random = random
    }

    /// Three attempts, 100 ms base, 20 s cap: the SDK standard mode.
    public static var standard: RetryPolicy { RetryPolicy() }
    /// A single attempt.
    public static var none: RetryPolicy { RetryPolicy(maxAttempts: 1) }

    /// The jittered delay before retry number `retry` (1 for the first retry).
    public func delay(beforeRetry retry: Int) -> Duration {
        let exponent = min(max(retry - 1, 0), 30)
        let ceiling = min(maxBackoff, baseDelay * (1 << exponent))
        let fraction = min(max(random(), 0), 1)
        return ceiling * fraction
    }
}
