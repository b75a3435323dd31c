#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring

extension CoreContext {
    /// Takes the lock of one session (by its cache key), so that however many latchkey processes
    /// start at once, exactly one asks for the MFA code and calls AWS. The lock is an `flock`: it
    /// dies with its holder. Returns nil when coordination is off.
    func lockSession(_ cacheKey: String, profile: String) async throws -> FileLock? {
        guard let directory = lockDirectory else { return nil }
        let path = directory + "/session-" + digest([cacheKey]).prefix(24) + ".lock"
        let notice = self.notice
        do {
            return try await FileLock.acquire(path: path, timeout: .seconds(settings.lockTimeout)) {
                notice(
                    "another latchkey process is getting the session for '\(profile)' (perhaps asking for an MFA "
                        + "code); waiting for it…")
            }
        } catch KeyringError.lockTimeout {
            throw LatchkeyError.lockTimeout(profile: profile, seconds: settings.lockTimeout)
        }
    }
}
