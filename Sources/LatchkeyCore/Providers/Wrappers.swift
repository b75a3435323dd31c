import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

// The wrappers every provider can have. `ProviderGraph` composes a step of a chain as
// `SingleFlight(Cached(MFAProtected(call)))`: the lock is taken first, the cache is read under it
// (another process may have just made the session), and only then is a code asked for.

/// A result already in hand: the cached session the decision chose to reuse.
struct Reused: CredentialProvider {
    let credentials: AWSCredentials

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        ProvidedCredentials(credentials: credentials, origin: .cachedSession)
    }
}

/// Read-through cache in the keyring: a session with enough time left is used; else the wrapped
/// provider is asked and what it makes (if it expires) is kept under `key`.
struct Cached: CredentialProvider {
    let inner: any CredentialProvider
    let key: String
    /// The profile and operation the cached item is labelled with (`latchkey list` shows them).
    let profile: String
    let operation: String
    /// The MFA device the session carries, for `list` and for `clear --mfa`.
    let mfaSerial: String?

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        if let cached = try await run.context.freshSession(key) {
            return ProvidedCredentials(credentials: cached, origin: .cachedSession)
        }
        let made = try await inner.credentials(run)
        if made.origin == .newSession, made.credentials.expiration != nil {
            try await run.context.store.storeSession(
                made.credentials, key: key, profile: profile, type: operation, mfaSerial: mfaSerial)
        }
        return made
    }
}

/// One process at a time runs the wrapped provider for a given session (see `SessionLocks`), so
/// however many start at once, one asks for the MFA code and calls AWS; the others wait and then
/// find the session cached.
struct SingleFlight: CredentialProvider {
    let inner: any CredentialProvider
    let key: String
    let profile: String

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let lock = try await run.context.lockSession(key, profile: profile)
        defer { lock?.release() }
        return try await inner.credentials(run)
    }
}

/// The wrapped provider's call needs a code from `serial`. The code is fetched when the call is
/// about to be made (its source resolved first), and recorded as used once AWS accepted it.
struct MFAProtected: CredentialProvider {
    let inner: any CredentialProvider
    let serial: String
    let profile: String
    let mfaProcess: String?

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let pending = PendingCode(
            serial: serial, profile: profile, mfaProcess: mfaProcess, source: run.context.mfa)
        var run = run
        run.pendingCode = pending
        let made = try await inner.credentials(run)
        if let code = pending.value { run.context.mfa.accepted(serial: serial, code: code) }
        return made
    }
}

/// A source that is not a key (a service, a program): any failure that is not already one of
/// latchkey's own errors is reported as that source being unavailable for the profile.
struct SourceFailures: CredentialProvider {
    let inner: any CredentialProvider
    let profile: String
    let source: String

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        do {
            return try await inner.credentials(run)
        } catch let error as LatchkeyError {
            throw error
        } catch {
            throw LatchkeyError.sourceFailed(profile: profile, source: source, cause: error)
        }
    }
}

extension CoreContext {
    /// A cached session with at least the minimum time left.
    func freshSession(_ key: String) async throws -> AWSCredentials? {
        guard let cached = try await store.session(key: key), let expiration = cached.expiration else {
            return nil
        }
        let left = Int(expiration.timeIntervalSince(now()))
        guard left >= settings.minimumTTL else {
            debug("cached session \(key) has \(formatDuration(left)) left: getting a new one")
            return nil
        }
        debug("reusing cached session \(key), \(formatDuration(left)) left")
        return cached
    }
}
