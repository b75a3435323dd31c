import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring

/// Replaces a profile's long-lived access key without ever leaving the user without a working
/// one: create the new key, store it (one keyring `set` over the old one), prove it works, then
/// delete the old key from AWS and drop the sessions made from it.
///
/// Every step is a closure so each failure point can be tested; `KeyRotation.live` wires them to
/// IAM, STS and the keyring.
///
/// A journal kept in the keyring while a rotation runs lets the next `rotate` finish one that was
/// killed part-way (delete the old key once the new one is stored) or delete the key it created
/// but never stored, so no one has to clean up keys by hand.
public struct KeyRotation: Sendable {
    /// What a running rotation records before it creates a key, and again once it knows the new
    /// key's id. Holds no secret.
    public struct Journal: Codable, Sendable, Equatable {
        public var oldAccessKeyId: String
        public var newAccessKeyId: String?
        public var started: Date

        public init(oldAccessKeyId: String, newAccessKeyId: String? = nil, started: Date) {
            self.oldAccessKeyId = oldAccessKeyId
            self.newAccessKeyId = newAccessKeyId
            self.started = started
        }
    }

    /// How far AWS's clock may be from ours when a key's creation time is compared with the
    /// journal's start (only for a key whose id the killed run never learned).
    static let clockSkew: TimeInterval = 300

    public struct Steps: Sendable {
        /// Credentials for every IAM call: an MFA session when the profile has MFA (one prompt), else the old key.
        public var iamCredentials: @Sendable () async throws -> AWSCredentials
        public var identity: @Sendable (_ credentials: AWSCredentials) async throws -> CallerIdentity
        public var listKeys:
            @Sendable (_ userName: String?, _ credentials: AWSCredentials) async throws -> [AccessKeyMetadata]
        public var createKey:
            @Sendable (_ userName: String?, _ credentials: AWSCredentials) async throws -> NewAccessKey
        /// Writes a key as the profile's stored key (replacing what is there in one write); `created`
        /// is what `list` counts the key's age from (nil: now).
        public var storeKey: @Sendable (_ key: AWSCredentials, _ created: Date?) async throws -> Void
        /// GetCallerIdentity signed with `key` itself.
        public var verifyKey: @Sendable (_ key: AWSCredentials) async throws -> CallerIdentity
        public var deleteKey:
            @Sendable (_ accessKeyId: String, _ userName: String?, _ credentials: AWSCredentials) async throws
                ->
                Void
        /// Removes the cached sessions made from the old key; returns how many.
        public var clearSessions: @Sendable () async throws -> Int
        public var sleep: @Sendable (Duration) async throws -> Void
        public var now: @Sendable () -> Date
        public var loadJournal: @Sendable () async throws -> Journal?
        public var saveJournal: @Sendable (Journal) async throws -> Void
        public var clearJournal: @Sendable () async throws -> Void

        public init(
            iamCredentials: @escaping @Sendable () async throws -> AWSCredentials,
            identity: @escaping @Sendable (AWSCredentials) async throws -> CallerIdentity,
            listKeys: @escaping @Sendable (String?, AWSCredentials) async throws -> [AccessKeyMetadata],
            createKey: @escaping @Sendable (String?, AWSCredentials) async throws -> NewAccessKey,
            storeKey: @escaping @Sendable (AWSCredentials, Date?) async throws -> Void,
            verifyKey: @escaping @Sendable (AWSCredentials) async throws -> CallerIdentity,
            deleteKey: @escaping @Sendable (String, String?, AWSCredentials) async throws -> Void,
            clearSessions: @escaping @Sendable () async throws -> Int,
            sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) },
            now: @escaping @Sendable () -> Date = Date.init,
            loadJournal: @escaping @Sendable () async throws -> Journal? = { nil },
            saveJournal: @escaping @Sendable (Journal) async throws -> Void = { _ in },
            clearJournal: @escaping @Sendable () async throws -> Void = {}
        ) {
            self.iamCredentials = iamCredentials
            self.identity = identity
            self.listKeys = listKeys
            self.createKey = createKey
            self.storeKey = storeKey
            self.verifyKey = verifyKey
            self.deleteKey = deleteKey
            self.clearSessions = clearSessions
            self.sleep = sleep
            self.now = now
            self.loadJournal = loadJournal
            self.saveJournal = saveJournal
            self.clearJournal = clearJournal
        }
    }

    /// How long a new key is given to start working (IAM is eventually consistent): attempts
    /// with doubling delays, capped, until `budget` of waiting is spent.
    public struct VerifyPolicy: Sendable, Equatable {
        public var budget: Duration
        public var firstDelay: Duration
        public var maxDelay: Duration

        public init(
            budget: Duration = .seconds(60), firstDelay: Duration = .seconds(1),
            maxDelay: Duration = .seconds(8)
        ) {
            self.budget = budget
            self.firstDelay = firstDelay
            self.maxDelay = maxDelay
        }

        /// `LATCHKEY_ROTATE_VERIFY_TIMEOUT` (a duration such as `30s` or `2m`; default 60 s).
        public init(environment: [String: String]) throws {
            self.init()
            if let text = environment["LATCHKEY_ROTATE_VERIFY_TIMEOUT"], !text.isEmpty {
                budget = .seconds(try parseDuration(text))
            }
        }

        /// The waits between attempts: 1, 2, 4, 8, 8, ... s, the last one shortened to fit the budget.
        public var delays: [Duration] {
            var delays: [Duration] = []
            var spent = Duration.zero
            var next = firstDelay
            while budget > spent, next > .zero {
                let wait = min(next, budget - spent)
                delays.append(wait)
                spent += wait
                next = min(next * 2, maxDelay)
            }
            return delays
        }
    }

    public var profile: String
    public var oldKey: AWSCredentials
    /// When the old key was stored, kept if it has to be put back.
    public var oldKeyAdded: Date?
    public var verify: VerifyPolicy
    public var steps: Steps
    /// Progress for the user (never a secret).
    public var progress: @Sendable (String) -> Void
    /// Keeps other rotations of this key out until `run()` ends (set by `live`).
    var lock: FileLock?

    public init(
        profile: String, oldKey: AWSCredentials, oldKeyAdded: Date? = nil,
        verify: VerifyPolicy = VerifyPolicy(),
        steps: Steps, progress: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.profile = profile
        self.oldKey = oldKey
        self.oldKeyAdded = oldKeyAdded
        self.verify = verify
        self.steps = steps
        self.progress = progress
    }

    public struct Result: Sendable, Equatable {
        public var userArn: String
        public var oldAccessKeyId: String
        public var newAccessKeyId: String
        /// How many GetCallerIdentity calls the new key needed before it worked.
        public var verifyAttempts: Int
        public var sessionsCleared: Int
        /// This run finished a rotation that an earlier, killed run had begun.
        public var finishedInterrupted = false
    }

    public func run() async throws -> Result {
        defer { lock?.release() }
        let credentials = try await steps.iamCredentials()
        let caller = try await beforeAnyChange("identify the key's user") {
            try await steps.identity(credentials)
        }
        let userName = try Self.userName(fromArn: caller.arn, profile: profile)
        var existing = try await beforeAnyChange("list the user's access keys") {
            try await steps.listKeys(userName, credentials)
        }
        guard existing.contains(where: { $0.accessKeyId == oldKey.accessKeyId }) else {
            throw KeyRotationError.storedKeyNotListed(
                profile: profile, accessKeyId: oldKey.accessKeyId, userArn: caller.arn)
        }
        // An unreadable journal is treated as none: at worst the user is told of a second key.
        if let journal = try? await steps.loadJournal(),
            let finished = try await recover(
                journal, keys: &existing, callerArn: caller.arn, userName: userName, credentials: credentials)
        {
            return finished
        }
        if existing.count >= 2, let other = existing.first(where: { $0.accessKeyId != oldKey.accessKeyId }) {
            throw KeyRotationError.keyLimitReached(
                profile: profile, otherKeyId: other.accessKeyId, userName: userName)
        }

        var journal = Journal(oldAccessKeyId: oldKey.accessKeyId, started: steps.now())
        try await beforeAnyChange("record the rotation in the keyring") {
            try await steps.saveJournal(journal)
        }
        // On failure the journal stays: AWS may have made the key and lost the answer; the next run checks.
        let created = try await beforeAnyChange("create the new access key") {
            try await steps.createKey(userName, credentials)
        }
        let newKey = created.credentials
        progress("Created access key \(newKey.accessKeyId) for \(caller.arn).")
        journal.newAccessKeyId = newKey.accessKeyId
        try? await steps.saveJournal(journal)  // without it, the next run still finds the key by its age

        do {
            try await steps.storeKey(newKey, created.metadata.createDate)
        } catch {
            throw await undoNewKey(
                newKey, userName: userName, credentials: credentials, restoreOld: false,
                failure: .notStored(error))
        }

        var attempts = 0
        // Why the latest attempt failed; nil once one works (the loop runs at least once).
        var lastFailure: VerifyFailure?
        attempting: for delay in [Duration.zero] + verify.delays {
            if delay > .zero {
                progress(
                    "The new key is not usable yet (IAM is eventually consistent); retrying in \(delay).")
                try await steps.sleep(delay)
            }
            attempts += 1
            do {
                let identity = try await steps.verifyKey(newKey)
                guard identity.arn == caller.arn else {
                    lastFailure = .wrongIdentity(IdentityMismatch(actual: identity.arn, expected: caller.arn))
                    break attempting
                }
                lastFailure = nil
                break attempting
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastFailure = .failed(error)
            }
        }
        if let lastFailure {
            throw await undoNewKey(
                newKey, userName: userName, credentials: credentials, restoreOld: true,
                failure: .notWorking(attempts: attempts, lastFailure: lastFailure))
        }
        progress("Verified the new key.")

        var deleteFailure: (any Error)?
        do {
            try await steps.deleteKey(oldKey.accessKeyId, userName, credentials)
        } catch {
            deleteFailure = error
        }
        let cleared = (try? await steps.clearSessions()) ?? 0
        if let deleteFailure {
            throw KeyRotationError.oldKeyNotDeleted(
                profile: profile, oldKeyId: oldKey.accessKeyId, newKeyId: newKey.accessKeyId,
                userName: userName,
                cause: deleteFailure)
        }
        progress("Deleted the old access key \(oldKey.accessKeyId).")
        // Only a finished rotation drops the journal: after any failure it lets the next run tidy up.
        try? await steps.clearJournal()
        return Result(
            userArn: caller.arn, oldAccessKeyId: oldKey.accessKeyId, newAccessKeyId: newKey.accessKeyId,
            verifyAttempts: attempts, sessionsCleared: cleared)
    }

    /// Picks up after a rotation that stopped without finishing (killed, or failed part-way):
    /// when it had stored its new key, checks that key and deletes the old one, returning the
    /// result; when the old key is still the stored one, deletes the key it created, whose secret
    /// nobody has. A journal that matches neither key is stale and dropped.
    private func recover(
        _ journal: Journal, keys: inout [AccessKeyMetadata], callerArn: String, userName: String?,
        credentials: AWSCredentials
    ) async throws -> Result? {
        let stored = oldKey.accessKeyId
        if let newId = journal.newAccessKeyId, newId == stored, newId != journal.oldAccessKeyId,
            keys.contains(where: { $0.accessKeyId == journal.oldAccessKeyId })
        {
            let identity = try await beforeAnyChange("check the key an interrupted rotation stored") {
                try await steps.verifyKey(oldKey)
            }
            guard identity.arn == callerArn else {
                throw KeyRotationError.notStarted(
                    profile: profile, step: "check the key an interrupted rotation stored",
                    cause: IdentityMismatch(actual: identity.arn, expected: callerArn))
            }
            do {
                try await steps.deleteKey(journal.oldAccessKeyId, userName, credentials)
            } catch {
                throw KeyRotationError.oldKeyNotDeleted(
                    profile: profile, oldKeyId: journal.oldAccessKeyId, newKeyId: stored, userName: userName,
                    cause: error)
            }
            let cleared = (try? await steps.clearSessions()) ?? 0
            try? await steps.clearJournal()
            progress(
                "Finished an interrupted rotation: deleted the old access key \(journal.oldAccessKeyId).")
            return Result(
                userArn: callerArn, oldAccessKeyId: journal.oldAccessKeyId, newAccessKeyId: stored,
                verifyAttempts: 1, sessionsCleared: cleared, finishedInterrupted: true)
        }
        if journal.oldAccessKeyId == stored {
            let cutoff = journal.started.addingTimeInterval(-Self.clockSkew)
            let unused = keys.filter { key in
                key.accessKeyId != stored
                    && (journal.newAccessKeyId.map { $0 == key.accessKeyId } ?? (key.createDate >= cutoff))
            }
            for key in unused {
                try await beforeAnyChange(
                    "delete the key \(key.accessKeyId) that an interrupted rotation created"
                ) {
                    try await steps.deleteKey(key.accessKeyId, userName, credentials)
                }
                keys.removeAll { $0.accessKeyId == key.accessKeyId }
                progress(
                    "Deleted access key \(key.accessKeyId): an interrupted rotation created it and never stored it."
                )
            }
        }
        try? await steps.clearJournal()
        return nil
    }

    /// Runs a step taken before this run changed anything, reporting its failure as such.
    private func beforeAnyChange<T>(_ step: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            throw KeyRotationError.notStarted(profile: profile, step: step, cause: error)
        }
    }

    /// Puts the old key back (when the new one was stored) and deletes the new key from AWS.
    private func undoNewKey(
        _ newKey: AWSCredentials, userName: String?, credentials: AWSCredentials, restoreOld: Bool,
        failure: RotationFailure
    ) async -> KeyRotationError {
        if restoreOld {
            do {
                try await steps.storeKey(oldKey, oldKeyAdded)
            } catch {
                // The keyring still holds the new key: deleting it from AWS would leave nothing that works.
                return .rolledBackPartly(
                    profile: profile, failure: failure, newKeyId: newKey.accessKeyId,
                    oldKeyId: oldKey.accessKeyId,
                    restoreFailure: error)
            }
        }
        do {
            try await steps.deleteKey(newKey.accessKeyId, userName, credentials)
        } catch {
            return .newKeyNotDeleted(
                profile: profile, failure: failure, newKeyId: newKey.accessKeyId, userName: userName,
                cause: error)
        }
        return .rolledBack(profile: profile, failure: failure, newKeyId: newKey.accessKeyId)
    }

    /// `arn:aws:iam::123456789012:user/path/doug` -> `doug`; a root key -> nil (IAM's "the caller").
    static func userName(fromArn arn: String, profile: String) throws -> String? {
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[2] == "iam" else {
            throw KeyRotationError.notAUserKey(profile: profile, arn: arn)
        }
        if parts[5] == "root" { return nil }
        guard parts[5].hasPrefix("user/"), let name = parts[5].split(separator: "/").last, name != "user"
        else {
            throw KeyRotationError.notAUserKey(profile: profile, arn: arn)
        }
        return String(name)
    }
}

/// How a rotation can end other than in success; each says what state the keys are in.
public enum KeyRotationError: Error, CustomStringConvertible, Sendable {
    /// Nothing was changed.
    case notStarted(profile: String, step: String, cause: any Error)
    case notAStoredKey(profile: String, source: String)
    case notAUserKey(profile: String, arn: String)
    case storedKeyNotListed(profile: String, accessKeyId: String, userArn: String)
    case keyLimitReached(profile: String, otherKeyId: String, userName: String?)
    /// The new key was deleted again; the old one is stored and still works.
    case rolledBack(profile: String, failure: RotationFailure, newKeyId: String)
    /// The new key could not be deleted again; the old one is stored and still works.
    case newKeyNotDeleted(
        profile: String, failure: RotationFailure, newKeyId: String, userName: String?, cause: any Error)
    /// The keyring kept the new key and AWS keeps both; `restoreFailure` is why the old key could
    /// not be put back in the keyring.
    case rolledBackPartly(
        profile: String, failure: RotationFailure, newKeyId: String, oldKeyId: String,
        restoreFailure: any Error)
    /// The rotation worked but the old key still exists in AWS.
    case oldKeyNotDeleted(
        profile: String, oldKeyId: String, newKeyId: String, userName: String?, cause: any Error)

    public var description: String {
        switch self {
        case .notStarted(let profile, let step, let cause):
            return
                "could not \(step) for profile '\(profile)'; nothing was changed and the stored key still works. "
                + "\(cause)"
        case .notAStoredKey(let profile, let source):
            return
                "profile '\(profile)' gets its credentials from \(source), not from a key stored in latchkey; "
                + "rotate the profile whose key is stored (`latchkey list` shows them)."
        case .notAUserKey(let profile, let arn):
            return
                "the key stored for '\(profile)' belongs to \(arn), not an IAM user; only IAM users' keys can be "
                + "rotated. Nothing was changed."
        case .storedKeyNotListed(let profile, let id, let arn):
            return "the stored key \(id) of '\(profile)' is not among the access keys of \(arn); "
                + "store the user's current key with `latchkey add \(profile)`. Nothing was changed."
        case .keyLimitReached(let profile, let other, let user):
            return
                "the user of '\(profile)' already has two access keys (the IAM limit), so no new one can be "
                + "created; delete the other key \(other) first (`aws iam delete-access-key --access-key-id \(other)"
                + "\(user.map { " --user-name \($0)" } ?? "")`) if nothing uses it, then run `latchkey rotate \(profile)` "
                + "again. Nothing was changed."
        case .rolledBack(let profile, let failure, let newKey):
            return "rotation of '\(profile)' stopped: \(failure). The new key \(newKey) was deleted again; "
                + "the old key is still stored and works."
        case .newKeyNotDeleted(let profile, let failure, let newKey, let user, let cause):
            return
                "rotation of '\(profile)' stopped: \(failure). The old key is still stored and works, but the new "
                + "key \(newKey) could not be deleted (\(cause)); remove it by hand: "
                + "`aws iam delete-access-key --access-key-id \(newKey)\(user.map { " --user-name \($0)" } ?? "")`."
        case .rolledBackPartly(let profile, let failure, let newKey, let oldKey, let restoreFailure):
            return
                "rotation of '\(profile)' stopped: \(failure), and putting the old key back in the keyring failed "
                + "(\(restoreFailure)). The keyring holds the new key "
                + "\(newKey) and AWS still has the old key \(oldKey); both were kept. Check the keyring, then run "
                + "`latchkey rotate \(profile)` again."
        case .oldKeyNotDeleted(let profile, let oldKey, let newKey, let user, let cause):
            return
                "the new key \(newKey) of '\(profile)' is stored and works, but the old key \(oldKey) could not be "
                + "deleted (\(cause)); remove it by hand: `aws iam delete-access-key --access-key-id \(oldKey)"
                + "\(user.map { " --user-name \($0)" } ?? "")`."
        }
    }
}

/// Why a rotation undid its new key (the `failure` of `KeyRotationError.rolledBack` and the other
/// cases after the new key existed); keeps the underlying error.
public enum RotationFailure: Error, CustomStringConvertible, Sendable {
    /// The keyring refused the new key (the old one is still stored).
    case notStored(any Error)
    /// Every attempt to use the new key failed; `lastFailure` is the last attempt's.
    case notWorking(attempts: Int, lastFailure: VerifyFailure)

    public var description: String {
        switch self {
        case .notStored(let cause):
            return "the new key could not be stored (\(cause))"
        case .notWorking(let attempts, let lastFailure):
            return
                "the new key did not work after \(attempts) attempt\(attempts == 1 ? "" : "s") (\(lastFailure))"
        }
    }
}

/// Why one attempt to use the new key failed.
public enum VerifyFailure: Error, CustomStringConvertible, Sendable {
    /// GetCallerIdentity with the new key failed.
    case failed(any Error)
    /// The new key works but belongs to someone else (not retried).
    case wrongIdentity(IdentityMismatch)

    public var description: String {
        switch self {
        case .failed(let cause): return "\(cause)"
        case .wrongIdentity(let mismatch): return mismatch.description
        }
    }
}

/// A key that authenticates as another identity than the one expected.
public struct IdentityMismatch: Error, CustomStringConvertible, Sendable, Equatable {
    public var actual: String
    public var expected: String

    public init(actual: String, expected: String) {
        self.actual = actual
        self.expected = expected
    }

    public var description: String { "it authenticates as \(actual), not \(expected)" }
}

/// Another rotation of the same key held the rotation lock for the whole lock timeout.
public struct RotationAlreadyRunning: Error, CustomStringConvertible, Sendable, Equatable {
    public var seconds: Int

    public init(seconds: Int) { self.seconds = seconds }

    public var description: String {
        "it has been running for \(seconds) s; let it finish or stop it, then try again."
    }
}
