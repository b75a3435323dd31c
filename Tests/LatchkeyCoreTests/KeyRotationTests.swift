import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// A fake IAM user with keys, a keyring slot and a log of every step, failing where told.
final class FakeAccount: @unchecked Sendable {
    enum Step: String, CaseIterable, Sendable {
        case session, identity, list, create, store, verify, deleteOld, deleteNew, restore, clear
    }

    private let lock = NSLock()
    private var state: (keys: [String], stored: String, log: [String], verifyFailures: Int)
    private var journalState: KeyRotation.Journal?
    /// When AWS says each key was made; a key not named here was made "now".
    let createDates: [String: Date]
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    let failing: Set<Step>
    let userArn: String
    let verifyAs: String?

    init(
        keys: [String] = ["AKIAOLD"], stored: String = "AKIAOLD", failing: Set<Step> = [],
        verifyFailures: Int = 0,
        userArn: String = "arn:aws:iam::123456789012:user/team/doug", verifyAs: String? = nil,
        journal: KeyRotation.Journal? = nil, createDates: [String: Date] = [:]
    ) {
        state = (keys, stored, [], verifyFailures)
        journalState = journal
        self.createDates = createDates
        self.failing = failing
        self.userArn = userArn
        self.verifyAs = verifyAs
    }

    var keys: [String] { lock.withLock { state.keys } }
    var stored: String { lock.withLock { state.stored } }
    var log: [String] { lock.withLock { state.log } }
    var journal: KeyRotation.Journal? { lock.withLock { journalState } }

    struct Injected: Error, CustomStringConvertible {
        var step: String
        var description: String { "injected failure in \(step)" }
    }

    private func record(_ entry: String, _ step: Step) throws {
        try lock.withLock {
            state.log.append(entry)
            if failing.contains(step) { throw Injected(step: step.rawValue) }
        }
    }

    let session = AWSCredentials(accessKeyId: "ASIAMFA", secretAccessKey: "s", sessionToken: "t")

    func steps() -> KeyRotation.Steps {
        KeyRotation.Steps(
            iamCredentials: {
                try self.record("session", .session)
                return self.session
            },
            identity: { credentials in
                try self.record("identity \(credentials.accessKeyId)", .identity)
                return CallerIdentity(account: "123456789012", arn: self.userArn, userId: "AIDA")
            },
            listKeys: { user, credentials in
                try self.record("list \(user ?? "-") \(credentials.accessKeyId)", .list)
                return self.keys.map {
                    AccessKeyMetadata(
                        accessKeyId: $0, userName: user ?? "", status: .active,
                        createDate: self.createDates[$0] ?? Self.now)
                }
            },
            createKey: { user, credentials in
                try self.record("create \(user ?? "-") \(credentials.accessKeyId)", .create)
                self.lock.withLock { self.state.keys.append("AKIANEW") }
                return NewAccessKey(
                    metadata: AccessKeyMetadata(
                        accessKeyId: "AKIANEW", userName: user ?? "", status: .active,
                        createDate: Date(timeIntervalSince1970: 1_800_000_000)),
                    credentials: AWSCredentials(accessKeyId: "AKIANEW", secretAccessKey: "new-secret"))
            },
            storeKey: { key, _ in
                let restoring = key.accessKeyId != "AKIANEW"
                try self.record("store \(key.accessKeyId)", restoring ? .restore : .store)
                self.lock.withLock { self.state.stored = key.accessKeyId }
            },
            verifyKey: { key in
                try self.record("verify \(key.accessKeyId)", .verify)
                let pending = self.lock.withLock {
                    defer { self.state.verifyFailures -= 1 }
                    return self.state.verifyFailures > 0
                }
                if pending {
                    throw AWSClientError.service(
                        AWSServiceError(
                            service: "sts", operation: "GetCallerIdentity", httpStatus: 403,
                            code: "InvalidClientTokenId",
                            message: "The security token included in the request is invalid."))
                }
                return CallerIdentity(
                    account: "123456789012", arn: self.verifyAs ?? self.userArn, userId: "AIDA")
            },
            deleteKey: { id, user, credentials in
                try self.record(
                    "delete \(id) \(user ?? "-") \(credentials.accessKeyId)",
                    id == "AKIANEW" ? .deleteNew : .deleteOld)
                self.lock.withLock { self.state.keys.removeAll { $0 == id } }
            },
            clearSessions: {
                try self.record("clear", .clear)
                return 2
            },
            sleep: { duration in self.lock.withLock { self.state.log.append("sleep \(duration)") } },
            now: { Self.now },
            loadJournal: { self.journal },
            saveJournal: { journal in self.lock.withLock { self.journalState = journal } },
            clearJournal: { self.lock.withLock { self.journalState = nil } })
    }

    func rotation(verify: KeyRotation.VerifyPolicy = .init(budget: .seconds(3))) -> KeyRotation {
        KeyRotation(
            profile: "doug", oldKey: AWSCredentials(accessKeyId: stored, secretAccessKey: "stored-secret"),
            verify: verify, steps: steps())
    }
}

@Suite("Key rotation: every step and every failure point")
struct KeyRotationTests {
    @Test func theWholeRotationUsesOneSessionForEveryIAMCall() async throws {
        let account = FakeAccount()
        let result = try await account.rotation().run()
        #expect(
            account.log == [
                "session", "identity ASIAMFA", "list doug ASIAMFA", "create doug ASIAMFA", "store AKIANEW",
                "verify AKIANEW", "delete AKIAOLD doug ASIAMFA", "clear",
            ])
        #expect(account.keys == ["AKIANEW"] && account.stored == "AKIANEW")
        #expect(result.oldAccessKeyId == "AKIAOLD" && result.newAccessKeyId == "AKIANEW")
        #expect(result.verifyAttempts == 1 && result.sessionsCleared == 2)
        #expect(result.userArn == "arn:aws:iam::123456789012:user/team/doug")
    }

    @Test func twoKeysAreRefusedBeforeAnythingChangesNamingTheOtherKey() async throws {
        let account = FakeAccount(keys: ["AKIAOLD", "AKIASPARE"])
        let error = await #expect(throws: KeyRotationError.self) { _ = try await account.rotation().run() }
        guard case .keyLimitReached("doug", "AKIASPARE", "doug"?) = error else {
            Issue.record("expected keyLimitReached, got \(String(describing: error))")
            return
        }
        #expect(!account.log.contains { $0.hasPrefix("create") || $0.hasPrefix("store") })
        #expect(account.keys == ["AKIAOLD", "AKIASPARE"] && account.stored == "AKIAOLD")
        let message =
            "\(KeyRotationError.keyLimitReached(profile: "doug", otherKeyId: "AKIASPARE", userName: "doug"))"
        #expect(message.contains("AKIASPARE") && message.contains("Nothing was changed"))
    }

    @Test func aStoredKeyThatIsNotTheUsersIsRefused() async throws {
        let account = FakeAccount(keys: ["AKIASOMEOTHER"])
        await #expect(throws: KeyRotationError.self) { _ = try await account.rotation().run() }
        #expect(!account.log.contains { $0.hasPrefix("create") })
    }

    @Test(arguments: [FakeAccount.Step.session, .identity, .list, .create])
    func failuresBeforeTheNewKeyExistsChangeNothing(step: FakeAccount.Step) async throws {
        let account = FakeAccount(failing: [step])
        let error = await #expect(throws: (any Error).self) { _ = try await account.rotation().run() }
        if step != .session {
            guard case .notStarted(_, _, let cause) = error as? KeyRotationError else {
                Issue.record("expected notStarted, got \(String(describing: error))")
                return
            }
            #expect((cause as? FakeAccount.Injected)?.step == step.rawValue)
        }
        #expect(account.keys == ["AKIAOLD"] && account.stored == "AKIAOLD")
        #expect(!account.log.contains { $0.hasPrefix("store") || $0.hasPrefix("delete") })
    }

    @Test func aStoreFailureDeletesTheNewKeyAndKeepsTheOld() async throws {
        let account = FakeAccount(failing: [.store])
        do {
            _ = try await account.rotation().run()
            Issue.record("expected a failure")
        } catch let error as KeyRotationError {
            guard case .rolledBack(_, .notStored(let cause), let newKey) = error else { throw error }
            #expect(newKey == "AKIANEW")
            // The keyring's own error is kept, not flattened into text.
            #expect((cause as? FakeAccount.Injected)?.step == "store")
            #expect(
                "\(error)".contains("could not be stored") && "\(error)".contains("old key is still stored"))
        }
        #expect(account.keys == ["AKIAOLD"] && account.stored == "AKIAOLD")
        #expect(account.log.suffix(2) == ["store AKIANEW", "delete AKIANEW doug ASIAMFA"])
    }

    @Test func aKeyThatNeverWorksIsDeletedAndTheOldOnePutBack() async throws {
        let account = FakeAccount(verifyFailures: 100)
        do {
            _ = try await account.rotation(verify: .init(budget: .seconds(3))).run()
            Issue.record("expected a failure")
        } catch let error as KeyRotationError {
            guard case .rolledBack(_, .notWorking(let attempts, .failed(let cause)), _) = error else {
                throw error
            }
            #expect(attempts == 3)
            guard case .service(let serviceError) = cause as? AWSClientError else {
                Issue.record("expected the STS error itself, got \(cause)")
                return
            }
            #expect(serviceError.code == "InvalidClientTokenId")
            #expect(
                "\(error)".contains("did not work after 3 attempts")
                    && "\(error)".contains("InvalidClientTokenId"))
        }
        // Attempts at 0, +1 s, +2 s (the 3 s budget), then the old key goes back before the new one is deleted.
        #expect(account.log.filter { $0.hasPrefix("sleep") } == ["sleep 1.0 seconds", "sleep 2.0 seconds"])
        #expect(account.log.suffix(2) == ["store AKIAOLD", "delete AKIANEW doug ASIAMFA"])
        #expect(account.keys == ["AKIAOLD"] && account.stored == "AKIAOLD")
    }

    @Test func aKeyThatWorksAfterAFewTriesIsKept() async throws {
        let account = FakeAccount(verifyFailures: 2)
        let result = try await account.rotation(verify: .init(budget: .seconds(30))).run()
        #expect(result.verifyAttempts == 3)
        #expect(account.keys == ["AKIANEW"] && account.stored == "AKIANEW")
    }

    @Test func aKeyOfAnotherIdentityIsNotRetriedAndRolledBack() async throws {
        let account = FakeAccount(verifyAs: "arn:aws:iam::123456789012:user/mallory")
        let error = await #expect(throws: KeyRotationError.self) { _ = try await account.rotation().run() }
        guard let error, case .rolledBack(_, .notWorking(1, .wrongIdentity(let mismatch)), _) = error else {
            Issue.record("expected a rollback for the wrong identity, got \(String(describing: error))")
            return
        }
        #expect(
            mismatch
                == IdentityMismatch(
                    actual: "arn:aws:iam::123456789012:user/mallory",
                    expected: "arn:aws:iam::123456789012:user/team/doug"))
        let expected: String =
            "rotation of 'doug' stopped: the new key did not work after 1 attempt (it authenticates as "
            + "arn:aws:iam::123456789012:user/mallory, not arn:aws:iam::123456789012:user/team/doug). "
            + "The new key AKIANEW was deleted again; the old key is still stored and works."
        #expect("\(error)" == expected)
        #expect(account.log.filter { $0.hasPrefix("verify") }.count == 1)
        #expect(account.keys == ["AKIAOLD"] && account.stored == "AKIAOLD")
    }

    @Test func aFailedDeleteOfTheOldKeyKeepsTheNewOneAndNamesTheOldId() async throws {
        let account = FakeAccount(failing: [.deleteOld])
        do {
            _ = try await account.rotation().run()
            Issue.record("expected a failure")
        } catch let error as KeyRotationError {
            guard case .oldKeyNotDeleted(_, let old, let new, _, let cause) = error else { throw error }
            #expect(old == "AKIAOLD" && new == "AKIANEW")
            #expect((cause as? FakeAccount.Injected)?.step == "deleteOld")
            #expect("\(error)".contains("aws iam delete-access-key --access-key-id AKIAOLD --user-name doug"))
        }
        #expect(account.stored == "AKIANEW" && account.keys == ["AKIAOLD", "AKIANEW"])
        #expect(account.log.last == "clear")
    }

    @Test func whenTheNewKeyCannotBeDeletedAgainTheUserIsToldItsId() async throws {
        let account = FakeAccount(failing: [.store, .deleteNew])
        do {
            _ = try await account.rotation().run()
            Issue.record("expected a failure")
        } catch let error as KeyRotationError {
            guard case .newKeyNotDeleted(_, .notStored(let failure), _, _, let cause) = error else {
                throw error
            }
            #expect((failure as? FakeAccount.Injected)?.step == "store")
            #expect((cause as? FakeAccount.Injected)?.step == "deleteNew")
            #expect("\(error)".contains("--access-key-id AKIANEW"))
        }
        #expect(account.stored == "AKIAOLD")
    }

    @Test func whenTheOldKeyCannotBePutBackBothKeysAreKept() async throws {
        let account = FakeAccount(failing: [.restore], verifyFailures: 100)
        do {
            _ = try await account.rotation(verify: .init(budget: .seconds(1))).run()
            Issue.record("expected a failure")
        } catch let error as KeyRotationError {
            guard case .rolledBackPartly(_, .notWorking(2, .failed), _, _, let restoreFailure) = error else {
                throw error
            }
            #expect((restoreFailure as? FakeAccount.Injected)?.step == "restore")
            let expected: String =
                "rotation of 'doug' stopped: the new key did not work after 2 attempts (STS GetCallerIdentity "
                + "failed with InvalidClientTokenId (HTTP 403): The security token included in the request is "
                + "invalid.), and putting the old key back in the keyring failed (injected failure in restore). "
                + "The keyring holds the new key AKIANEW and AWS still has the old key AKIAOLD; both were kept. "
                + "Check the keyring, then run `latchkey rotate doug` again."
            #expect("\(error)" == expected)
        }
        #expect(account.keys == ["AKIAOLD", "AKIANEW"] && account.stored == "AKIANEW")
        #expect(!account.log.contains { $0.hasPrefix("delete") })
    }

    @Test(arguments: [
        ("arn:aws:iam::123456789012:user/doug", "doug" as String?),
        ("arn:aws:iam::123456789012:user/a/b/doug", "doug"),
        ("arn:aws-cn:iam::123456789012:user/doug", "doug"),
        ("arn:aws:iam::123456789012:root", nil),
    ])
    func userNames(arn: String, expected: String?) throws {
        #expect(try KeyRotation.userName(fromArn: arn, profile: "p") == expected)
    }

    @Test(arguments: [
        "arn:aws:sts::123456789012:assumed-role/R/s", "arn:aws:sts::123456789012:federated-user/x", "junk",
    ])
    func nonUserKeysAreRefused(arn: String) {
        let error = #expect(throws: KeyRotationError.self) {
            try KeyRotation.userName(fromArn: arn, profile: "p")
        }
        guard case .notAUserKey("p", let named) = error, named == arn else {
            Issue.record("expected notAUserKey, got \(String(describing: error))")
            return
        }
    }

    @Test func verifyDelaysDoubleAndFitTheBudget() throws {
        #expect(
            KeyRotation.VerifyPolicy(budget: .seconds(20)).delays == [
                .seconds(1), .seconds(2), .seconds(4), .seconds(8), .seconds(5),
            ])
        #expect(KeyRotation.VerifyPolicy(budget: .zero).delays.isEmpty)
        #expect(
            try KeyRotation.VerifyPolicy(environment: ["LATCHKEY_ROTATE_VERIFY_TIMEOUT": "2m"]).budget
                == .seconds(120))
        #expect(try KeyRotation.VerifyPolicy(environment: [:]).budget == .seconds(60))
        #expect(throws: LatchkeyError.self) {
            try KeyRotation.VerifyPolicy(environment: ["LATCHKEY_ROTATE_VERIFY_TIMEOUT": "soon"])
        }
    }

    @Test func keyAgeCountsWholeDaysAndAdvisesRotationAt90() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let key = { (days: Double) in
            CredentialStore.StoredKey(profile: "p", accessKeyId: "AKIA", added: now - days * 86400)
        }
        #expect(key(0.5).ageInDays(now: now) == 0)
        #expect(key(89.99).ageInDays(now: now) == 89 && !key(89.99).needsRotation(now: now))
        #expect(key(90).ageInDays(now: now) == 90 && key(90).needsRotation(now: now))
        #expect(key(-3).ageInDays(now: now) == 0)
        #expect(
            CredentialStore.StoredKey(profile: "p", accessKeyId: nil, added: nil).ageInDays(now: now) == nil)
        #expect(KeyAge.text(since: now - 12 * 86400 - 5, now: now) == "12d")
        #expect(KeyAge.text(since: now - 3900, now: now) == "1h05m")
        #expect(KeyAge.text(since: now + 100, now: now) == "0s")
    }
}

@Suite("Key rotation: after a run that was killed part-way")
struct InterruptedRotationTests {
    static let begun = FakeAccount.now.addingTimeInterval(-60)

    @Test func aRunKilledAfterStoringItsKeyIsFinished() async throws {
        let account = FakeAccount(
            keys: ["AKIAOLD", "AKIANEW"], stored: "AKIANEW",
            journal: .init(oldAccessKeyId: "AKIAOLD", newAccessKeyId: "AKIANEW", started: Self.begun))
        let result = try await account.rotation().run()
        #expect(result.finishedInterrupted)
        #expect(result.oldAccessKeyId == "AKIAOLD" && result.newAccessKeyId == "AKIANEW")
        #expect(account.keys == ["AKIANEW"] && account.stored == "AKIANEW" && account.journal == nil)
        // The stored key is proven to work before the old one goes; nothing new is created.
        #expect(account.log.suffix(3) == ["verify AKIANEW", "delete AKIAOLD doug ASIAMFA", "clear"])
        #expect(!account.log.contains { $0.hasPrefix("create") })
    }

    @Test func theStoredKeyMustWorkBeforeTheOldOneIsDeleted() async throws {
        let account = FakeAccount(
            keys: ["AKIAOLD", "AKIANEW"], stored: "AKIANEW", failing: [.verify],
            journal: .init(oldAccessKeyId: "AKIAOLD", newAccessKeyId: "AKIANEW", started: Self.begun))
        await #expect(throws: KeyRotationError.self) { _ = try await account.rotation().run() }
        #expect(account.keys == ["AKIAOLD", "AKIANEW"] && account.journal != nil)
    }

    @Test func theKeyAKilledRunNeverStoredIsDeletedThenTheRotationRuns() async throws {
        let account = FakeAccount(
            keys: ["AKIAOLD", "AKIALOST"],
            journal: .init(oldAccessKeyId: "AKIAOLD", newAccessKeyId: "AKIALOST", started: Self.begun))
        let result = try await account.rotation().run()
        #expect(!result.finishedInterrupted && result.newAccessKeyId == "AKIANEW")
        #expect(account.log.contains("delete AKIALOST doug ASIAMFA"))
        #expect(account.keys == ["AKIANEW"] && account.stored == "AKIANEW" && account.journal == nil)
    }

    @Test func withoutTheNewIdOnlyAKeyMadeSinceTheRunBeganIsDeleted() async throws {
        let young = FakeAccount(
            keys: ["AKIAOLD", "AKIAYOUNG"], journal: .init(oldAccessKeyId: "AKIAOLD", started: Self.begun),
            createDates: ["AKIAYOUNG": Self.begun.addingTimeInterval(2)])
        _ = try await young.rotation().run()
        #expect(young.keys == ["AKIANEW"])

        let old = FakeAccount(
            keys: ["AKIAOLD", "AKIASPARE"], journal: .init(oldAccessKeyId: "AKIAOLD", started: Self.begun),
            createDates: ["AKIASPARE": Self.begun.addingTimeInterval(-86400)])
        let error = await #expect(throws: KeyRotationError.self) { _ = try await old.rotation().run() }
        guard case .keyLimitReached("doug", "AKIASPARE", "doug"?) = error else {
            Issue.record("expected keyLimitReached, got \(String(describing: error))")
            return
        }
        #expect(old.keys == ["AKIAOLD", "AKIASPARE"])
    }

    @Test func aJournalMatchingNeitherKeyIsDropped() async throws {
        let account = FakeAccount(
            journal: .init(oldAccessKeyId: "AKIAGONE", newAccessKeyId: "AKIAALSOGONE", started: Self.begun))
        let result = try await account.rotation().run()
        #expect(result.newAccessKeyId == "AKIANEW" && !result.finishedInterrupted)
        #expect(account.journal == nil && !account.log.contains { $0.contains("GONE") })
    }

    @Test func aRunThatCouldNotTidyUpLeavesTheJournalForTheNext() async throws {
        let account = FakeAccount(failing: [.store, .deleteNew])
        await #expect(throws: KeyRotationError.self) { _ = try await account.rotation().run() }
        #expect(account.journal?.oldAccessKeyId == "AKIAOLD" && account.journal?.newAccessKeyId == "AKIANEW")
        #expect(account.journal?.started == FakeAccount.now)
    }
}
