import AWSClient
import AWSConfig
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// One finding of `latchkey doctor`: what was checked, what was found, and how to fix it.
public struct DoctorCheck: Sendable, Encodable, Equatable {
    public enum Status: String, Sendable, Encodable { case ok, warn, fail, skip }
    public var name: String
    public var status: Status
    /// The final text `doctor` prints for the check; a failed check renders its error here (not a
    /// stored cause: nothing reads the error back).
    public var detail: String
    public var fix: String?
}

/// Checks a profile from the config file down to AWS, and explains each problem with its fix.
/// AWS is asked only with the stored long-lived key (no MFA prompt): GetCallerIdentity for the
/// key and the clock, then IAM for the MFA device and the boundary.
public struct Doctor: Sendable {
    public var context: CoreContext
    public var config: Result<AWSSharedConfig, any Error>
    public var configFile: String
    /// Makes an IAM client for a key (the CLI knows the configured IAM endpoint).
    public var iam: @Sendable (AWSCredentials) throws -> IAMClient

    public init(
        context: CoreContext, config: Result<AWSSharedConfig, any Error>, configFile: String,
        iam: @escaping @Sendable (AWSCredentials) throws -> IAMClient
    ) {
        self.context = context
        self.config = config
        self.configFile = configFile
        self.iam = iam
    }

    /// TOTP codes fail when the clock is further off than one step.
    public static let clockTolerance = 30.0

    public func run(profile: String?) async -> [DoctorCheck] {
        let checks = await checkProfile(profile)
        return checks + [lastPromptFailureCheck()].compactMap { $0 }
    }

    /// The last refusal to ask (a credential_process with no terminal, or --no-prompt), with its
    /// age and fix: the AWS CLI hides latchkey's own message. Gone after 24 h or a later success.
    func lastPromptFailureCheck() -> DoctorCheck? {
        guard let directory = context.lockDirectory,
            let record = PromptFailureRecord.load(in: directory, now: context.now())
        else { return nil }
        let age = formatAge(context.now().timeIntervalSince(record.time))
        return .init(
            name: "last prompt failure", status: .warn,
            detail: "\(age) ago\(record.profile.map { " for '\($0)'" } ?? ""): \(record.message)",
            fix: record.fix)
    }

    func formatAge(_ seconds: TimeInterval) -> String {
        let whole = max(0, Int(seconds))
        if whole < 60 { return "\(whole) s" }
        if whole < 3600 { return "\(whole / 60) min" }
        return "\(whole / 3600) h \(whole % 3600 / 60) min"
    }

    private func checkProfile(_ profile: String?) async -> [DoctorCheck] {
        var checks: [DoctorCheck] = []
        let config: AWSSharedConfig
        switch self.config {
        case .success(let parsed):
            config = parsed
            checks.append(
                .init(
                    name: "config", status: .ok,
                    detail: "\(parsed.profileNames.count) profiles in \(configFile)"))
        case .failure(let error):
            return [.init(name: "config", status: .fail, detail: "\(error)", fix: "fix the line it names")]
        }
        let inventory: CredentialStore.Inventory
        do {
            inventory = try await context.store.inventory()
            checks.append(
                .init(
                    name: "keyring", status: .ok,
                    detail:
                        "\(context.store.keyring.backendName) backend: \(inventory.credentials.count) stored keys, "
                        + "\(inventory.sessions.count) cached sessions"))
        } catch {
            return checks + [
                .init(name: "keyring", status: .fail, detail: "\(error)", fix: "see the message above")
            ]
        }
        guard let profile else {
            return checks + inventory.credentials.map { ageCheck($0, name: "key age (\($0.profile))") }
                + inventory.unfinishedRotations.map(rotationCheck)
        }

        let plan: CredentialPlan
        do {
            let resolver = ProfileResolver(
                config: config, environment: context.environment, configFile: configFile)
            plan = try resolver.plan(
                for: CredentialRequest(profile: profile),
                storedProfiles: config.profile(profile) == nil
                    ? Set(inventory.credentials.map(\.profile)) : nil)
            let steps = ([plan.source.operation] + plan.steps.map(\.operation)).joined(separator: " -> ")
            checks.append(.init(name: "profile", status: .ok, detail: "'\(profile)' resolves: \(steps)"))
        } catch {
            return checks + [
                .init(
                    name: "profile", status: .fail, detail: "\(error)", fix: "`latchkey explain \(profile)`")
            ]
        }

        let mfaSerial = plan.steps.compactMap(\.mfaSerial).first
        if let serial = mfaSerial {
            let step = plan.steps.first { $0.mfaSerial == serial }
            let from =
                step?.mfaProcess.map { "mfa_process `\($0)`" }
                ?? (context.mfa.prompt != nil ? "a prompt" : nil)
            checks.append(
                from.map {
                    .init(name: "MFA code", status: .ok, detail: "codes for \(serial) come from \($0)")
                }
                    ?? .init(
                        name: "MFA code", status: .fail,
                        detail: "nothing can supply a code for \(serial) here",
                        fix: "run from a terminal, set mfa_process, or choose --prompt zenity/kdialog/ykman"))
        }
        let sessions = inventory.sessions.filter { $0.profile == profile }
        let now = context.now()
        checks.append(
            .init(
                name: "sessions", status: .ok,
                detail: sessions.isEmpty
                    ? "none cached"
                    : sessions.map {
                        "\($0.type) until \($0.expiration.map(iso8601) ?? "?")"
                            + (($0.expiration ?? .distantPast) > now ? "" : " (expired)")
                    }.joined(separator: "; ")))

        if case .loginSession(let login) = plan.source {
            checks.append(login.doctorCheck(inventory: inventory, now: now))
        }
        guard let keyProfile = plan.source.keyProfile else {
            checks.append(
                .init(
                    name: "stored key", status: .skip,
                    detail: "'\(profile)' gets credentials from \(plan.source.operation)"))
            return checks
        }
        let key: AWSCredentials
        do {
            if case .staticKeys(_, let credentials) = plan.source {
                key = credentials
                checks.append(
                    .init(
                        name: "stored key", status: .warn,
                        detail: "the key of '\(keyProfile)' is written in clear in the shared files",
                        fix: "`latchkey add \(keyProfile)` with that key, then delete it from the file"))
            } else if let stored = try await context.store.longLivedKey(profile: keyProfile) {
                key = stored
                checks.append(
                    .init(
                        name: "stored key", status: .ok,
                        detail:
                            "'\(keyProfile)': \(stored.accessKeyId.prefix(4))…\(stored.accessKeyId.suffix(4)), readable"
                    ))
            } else {
                return checks + [
                    .init(
                        name: "stored key", status: .fail, detail: "no key is stored for '\(keyProfile)'",
                        fix: "`latchkey add \(keyProfile)`")
                ]
            }
        } catch {
            return checks + [
                .init(name: "stored key", status: .fail, detail: "\(error)", fix: "see the message above")
            ]
        }
        if let stored = inventory.credentials.first(where: { $0.profile == keyProfile }) {
            checks.append(ageCheck(stored, name: "key age"))
        }
        checks += inventory.unfinishedRotations.filter { $0.profile == keyProfile }.map(rotationCheck)

        // AWS, with the long-lived key: who it is, and what time AWS thinks it is.
        let recorder = DateRecordingTransport(context.transport)
        let identity: CallerIdentity
        do {
            let sts = try STSClient(
                credentials: key, region: plan.region ?? "us-east-1",
                endpoint: plan.sts.endpoint.flatMap(URL.init(string:)),
                transport: recorder, now: context.now, useFIPS: plan.sts.useFIPS,
                useDualStack: plan.sts.useDualStack,
                useGlobalEndpoint: plan.sts.useGlobalEndpoint)
            identity = try await sts.getCallerIdentity()
            checks.append(.init(name: "AWS", status: .ok, detail: "the key is \(identity.arn)"))
        } catch {
            return checks + [
                .init(
                    name: "AWS", status: .fail, detail: "\(error)",
                    fix: "check the network; if the key was deleted or rotated, `latchkey add \(keyProfile)`")
            ]
        }
        if let serverDate = recorder.lastServerDate {
            let skew = context.now().timeIntervalSince(serverDate)
            checks.append(
                abs(skew) <= Self.clockTolerance
                    ? .init(name: "clock", status: .ok, detail: "within \(Int(abs(skew.rounded()))) s of AWS")
                    : .init(
                        name: "clock", status: .fail,
                        detail:
                            "\(Int(abs(skew.rounded()))) s \(skew > 0 ? "ahead of" : "behind") AWS: MFA codes depend on the time",
                        fix: "turn on time synchronisation (`timedatectl set-ntp true`)"))
        }
        guard identity.arn.contains(":user/") else {
            checks.append(.init(name: "MFA device", status: .skip, detail: "the key is not an IAM user's"))
            return checks
        }
        let userName = String(identity.arn.split(separator: "/").last ?? "")
        do {
            let client = try iam(key)
            let devices = try await client.listMFADevices(userName: userName).map(\.serialNumber)
            switch (devices.isEmpty, mfaSerial) {
            case (true, nil):
                checks.append(
                    .init(
                        name: "MFA device", status: .warn, detail: "\(userName) has no MFA device",
                        fix: "`latchkey mfa enroll \(keyProfile)`"))
            case (true, .some(let serial)):
                checks.append(
                    .init(
                        name: "MFA device", status: .fail,
                        detail: "mfa_serial is \(serial), but \(userName) has no MFA device",
                        fix: "`latchkey mfa enroll \(keyProfile)`, or remove mfa_serial"))
            case (false, nil):
                checks.append(
                    .init(
                        name: "MFA device", status: .warn,
                        detail:
                            "\(userName) has \(devices.joined(separator: ", ")) but the profile has no mfa_serial",
                        fix: "add `mfa_serial = \(devices[0])` to [profile \(keyProfile)]"))
            case (false, .some(let serial)) where devices.contains(serial):
                checks.append(
                    .init(name: "MFA device", status: .ok, detail: "\(serial) is assigned to \(userName)"))
            case (false, .some(let serial)):
                checks.append(
                    .init(
                        name: "MFA device", status: .fail,
                        detail:
                            "mfa_serial is \(serial), but \(userName) has \(devices.joined(separator: ", "))",
                        fix: "set `mfa_serial = \(devices[0])`"))
            }
            let boundary = try await client.userPermissionsBoundary(userName: userName)
            checks.append(
                boundary.map {
                    .init(name: "MFA boundary", status: .ok, detail: "permissions boundary \($0)")
                }
                    ?? .init(
                        name: "MFA boundary", status: .warn,
                        detail: "\(userName) has no permissions boundary: the key works without MFA",
                        fix: "`latchkey policy apply \(userName) --profile ADMIN`"))
        } catch {
            checks.append(
                .init(
                    name: "MFA device", status: .warn, detail: "IAM could not be asked: \(error)",
                    fix: "allow iam:ListMFADevices and iam:GetUser on your own user"))
        }
        return checks
    }

    /// A rotation that was killed or failed part-way may have left a second key in AWS.
    func rotationCheck(_ rotation: CredentialStore.UnfinishedRotation) -> DoctorCheck {
        .init(
            name: "rotation (\(rotation.profile))", status: .warn,
            detail: "a rotation of '\(rotation.profile)'"
                + (rotation.started.map { " begun \(iso8601($0))" } ?? "")
                + " did not finish; AWS may hold a second key for this user",
            fix: "`latchkey rotate \(rotation.profile)` finishes it (or deletes the key it left)")
    }

    func ageCheck(_ key: CredentialStore.StoredKey, name: String) -> DoctorCheck {
        guard let days = key.ageInDays(now: context.now()) else {
            return .init(name: name, status: .skip, detail: "unknown (stored before latchkey kept dates)")
        }
        guard key.needsRotation(now: context.now()) else {
            return .init(name: name, status: .ok, detail: "'\(key.profile)': \(days) days old")
        }
        return .init(
            name: name, status: .warn,
            detail: "'\(key.profile)': \(days) days old (rotate every \(KeyAge.rotationAdviceDays))",
            fix: "`latchkey rotate \(key.profile)`, or give up the key for a console sign-in session: "
                + "`latchkey signin \(key.profile) --retire-key`")
    }
}

/// Passes requests on and remembers the `Date` of the last answer (for the clock check).
final class DateRecordingTransport: HTTPTransport, @unchecked Sendable {
    private let inner: any HTTPTransport
    private let lock = Lock()
    private var date: Date?

    init(_ inner: any HTTPTransport) { self.inner = inner }

    var lastServerDate: Date? { lock.withLock { date } }

    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        let response = try await inner.send(request, timeout: timeout)
        lock.withLock { date = response.serverDate ?? date }
        return response
    }
}
