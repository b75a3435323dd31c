#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How old stored keys are, for `list` and `doctor`'s rotation advice.
public enum KeyAge {
    /// AWS's and CIS's advice: rotate access keys at least every 90 days.
    public static let rotationAdviceDays = 90

    /// Whole days since `date`, never negative (a clock that runs behind shows 0, not a minus).
    public static func days(since date: Date, now: Date) -> Int {
        max(0, Int((now.timeIntervalSince(date) / 86400).rounded(.down)))
    }

    /// `12d` from a day on, else `5h03m` / `40m` / `12s`.
    public static func text(since date: Date, now: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date).rounded(.down)))
        return seconds >= 86400 ? "\(seconds / 86400)d" : formatDuration(seconds)
    }
}

extension CredentialStore.StoredKey {
    /// Whole days since the key was stored (a rotated key: since AWS created it); nil when unknown.
    public func ageInDays(now: Date) -> Int? {
        added.map { KeyAge.days(since: $0, now: now) }
    }

    /// True once the key is at least `KeyAge.rotationAdviceDays` old.
    public func needsRotation(now: Date) -> Bool {
        (ageInDays(now: now) ?? 0) >= KeyAge.rotationAdviceDays
    }
}
