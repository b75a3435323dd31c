import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring

extension KeyRotation {
    /// A rotation of the stored key a profile's plan starts from, wired to IAM, STS and the
    /// keyring. The IAM calls use an MFA session (cached or new: at most one prompt) when the
    /// profile or its key's profile has `mfa_serial` and `noSession` is false, else the old key.
    public static func live(
        plan: CredentialPlan, resolver: ProfileResolver, context: CoreContext, noSession: Bool = false,
        mfaToken: String? = nil, verify: VerifyPolicy = VerifyPolicy(),
        progress: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws -> KeyRotation {
        guard case .storedKey(let keyProfile) = plan.source else {
            throw KeyRotationError.notAStoredKey(profile: plan.profile, source: plan.source.operation)
        }
        let store = context.store
        // One rotation of a key at a time: a second would take the first one's journal for an
        // interrupted run and delete the key it is about to store. Taken before the key is read.
        let lock = try await rotationLock(keyProfile, context: context)
        guard let oldKey = try await store.longLivedKey(profile: keyProfile) else {
            lock?.release()
            throw LatchkeyError.noStoredCredentials(profile: keyProfile, backend: store.keyring.backendName)
        }
        let oldKeyAdded = try await store.inventory().credentials.first { $0.profile == keyProfile }?.added
        let service = CredentialService(context: context)
        let sessionPlan =
            noSession ? nil : try mfaSessionPlan(plan, keyProfile: keyProfile, resolver: resolver)
        let iamEndpoint = try resolver.configuredEndpoint(service: "iam", profile: plan.profile)
        let region = plan.region ?? "us-east-1"
        let iam: @Sendable (AWSCredentials) -> IAMClient = { credentials in
            IAMClient(
                credentials: credentials, region: region, endpoint: iamEndpoint, transport: context.transport,
                now: context.now)
        }
        let sts: @Sendable (AWSCredentials) throws -> STSClient = { credentials in
            try STSAccess(plan: plan).client(
                credentials: credentials, context: context, profile: keyProfile,
                operation: "GetCallerIdentity")
        }
        let steps = Steps(
            iamCredentials: {
                guard let sessionPlan else { return oldKey }
                context.debug("rotation: IAM calls use an MFA session of '\(keyProfile)'")
                return try await service.credentials(for: sessionPlan, mfaToken: mfaToken).credentials
            },
            identity: { try await sts($0).getCallerIdentity() },
            listKeys: { try await iam($1).listAccessKeys(userName: $0) },
            createKey: { try await iam($1).createAccessKey(userName: $0) },
            storeKey: { key, created in
                try await store.storeLongLivedKey(key, profile: keyProfile, now: created ?? context.now())
            },
            verifyKey: { key in
                context.debug("rotation: GetCallerIdentity with the new key \(mask(key.accessKeyId))")
                return try await sts(key).getCallerIdentity()
            },
            deleteKey: { id, user, credentials in
                try await iam(credentials).deleteAccessKey(accessKeyId: id, userName: user)
            },
            clearSessions: {
                var removed = try await store.removeSessions(profile: keyProfile)
                if plan.profile != keyProfile {
                    removed += try await store.removeSessions(profile: plan.profile)
                }
                return removed
            },
            now: context.now,
            loadJournal: { try await store.rotationJournal(profile: keyProfile) },
            saveJournal: { try await store.storeRotationJournal($0, profile: keyProfile) },
            clearJournal: { try await store.removeRotationJournal(profile: keyProfile) })
        var rotation = KeyRotation(
            profile: keyProfile, oldKey: oldKey, oldKeyAdded: oldKeyAdded, verify: verify, steps: steps,
            progress: progress)
        rotation.lock = lock
        return rotation
    }

    static func rotationLock(_ profile: String, context: CoreContext) async throws -> FileLock? {
        guard let directory = context.lockDirectory else { return nil }
        let seconds = context.settings.lockTimeout
        do {
            return try await FileLock.acquire(
                path: directory + "/rotation-" + digest([profile]).prefix(24) + ".lock",
                timeout: .seconds(seconds)
            ) {
                context.notice(
                    "another latchkey process is rotating the key of '\(profile)'; waiting for it…")
            }
        } catch KeyringError.lockTimeout {
            throw KeyRotationError.notStarted(
                profile: profile, step: "start while another rotation of the same key runs",
                cause: RotationAlreadyRunning(seconds: seconds))
        }
    }

    /// The plan's MFA GetSessionToken step (a role profile's, whose cached session may be reused),
    /// else the key profile's own; nil when neither has MFA.
    static func mfaSessionPlan(_ plan: CredentialPlan, keyProfile: String, resolver: ProfileResolver) throws
        -> CredentialPlan?
    {
        func mfaStep(_ plan: CredentialPlan) -> PlanStep? {
            guard let first = plan.steps.first, first.kind == .getSessionToken, first.mfaSerial != nil else {
                return nil
            }
            return first
        }
        var step = mfaStep(plan)
        if step == nil, plan.profile != keyProfile {
            step = mfaStep(
                try resolver.plan(
                    for: CredentialRequest(profile: keyProfile, scope: .unscoped), storedProfiles: nil))
        }
        guard let step else { return nil }
        var sessionPlan = plan
        sessionPlan.profile = keyProfile
        sessionPlan.steps = [step]
        return sessionPlan
    }
}
