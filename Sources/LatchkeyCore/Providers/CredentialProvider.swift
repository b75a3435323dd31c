import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// A source of credentials: a stored key, a program, an STS call made with the credentials of
/// another provider. A chain is a composition (a role provider holds the provider of its source),
/// and caching, single-flight locking and MFA codes are wrappers around any provider
/// (`Wrappers.swift`). `ProviderGraph` builds the composition from a `CredentialDecision`.
public protocol CredentialProvider: Sendable {
    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials
}

public struct ProvidedCredentials: Sendable {
    public var credentials: AWSCredentials
    public var origin: CredentialOrigin
}

/// What one run of a chain carries from the outside in: the world (`CoreContext`), the
/// `--mfa-token` flag (spent on the first code asked for), and the code the nearest MFA wrapper
/// will fetch when the provider it wraps is about to call AWS.
public struct ProviderRun: Sendable {
    public var context: CoreContext
    let flag: MFAFlag
    /// Set by `MFAProtected` for the provider it wraps; cleared for that provider's source.
    var pendingCode: PendingCode?

    public init(context: CoreContext, mfaToken: String? = nil) {
        self.context = context
        self.flag = MFAFlag(mfaToken)
    }

    /// The run as the provider's source sees it: the code belongs to the call, not to its source.
    var forSource: ProviderRun {
        var run = self
        run.pendingCode = nil
        return run
    }

    /// The MFA code for the call about to be made, fetched now (after the source's credentials are
    /// in hand, so nobody is asked for a code before a missing key is found); nil when none is needed.
    func mfaCode() async throws -> String? {
        try await pendingCode?.fetch(flag: flag)
    }
}

/// `--mfa-token`: one code, for the first step of the chain that asks.
final class MFAFlag: @unchecked Sendable {
    private let lock = Lock()
    private var value: String?

    init(_ value: String?) { self.value = value }

    func take() -> String? {
        lock.withLock {
            defer { value = nil }
            return value
        }
    }
}

/// A code `MFAProtected` promises its provider: fetched once, on demand, and remembered so the
/// wrapper can record it as used once AWS accepted it.
final class PendingCode: @unchecked Sendable {
    let serial: String
    let profile: String
    let mfaProcess: String?
    private let source: MFACodeSource
    private let lock = Lock()
    private var fetched: String?

    init(serial: String, profile: String, mfaProcess: String?, source: MFACodeSource) {
        self.serial = serial
        self.profile = profile
        self.mfaProcess = mfaProcess
        self.source = source
    }

    var value: String? { lock.withLock { fetched } }

    func fetch(flag: MFAFlag) async throws -> String {
        if let value { return value }
        let code = try await source.code(
            profile: profile, serial: serial, mfaProcess: mfaProcess, flag: flag.take())
        lock.withLock { fetched = code }
        return code
    }
}
