import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// How STS is reached for every call of a plan: the region and the endpoint settings.
public struct STSAccess: Sendable, Equatable {
    public var region: String?
    public var settings: STSSettings

    public init(plan: CredentialPlan) {
        region = plan.region
        settings = plan.sts
    }

    /// An STS client signing with `credentials` (none for AssumeRoleWithWebIdentity).
    public func client(credentials: AWSCredentials?, context: CoreContext, profile: String, operation: String)
        throws
        -> STSClient
    {
        let endpoint = try configuredEndpoint(
            settings.endpoint, setting: "endpoint_url, AWS_ENDPOINT_URL_STS or AWS_ENDPOINT_URL")
        return try STSClient(
            credentials: credentials, region: region ?? "us-east-1", endpoint: endpoint,
            transport: context.transport, now: context.now, useFIPS: settings.useFIPS,
            useDualStack: settings.useDualStack, useGlobalEndpoint: settings.useGlobalEndpoint)
    }
}

/// What GetSessionToken and AssumeRole share: the source's credentials first, then the code (if
/// an MFA wrapper asked for one), then the call, whose failure becomes advice.
struct STSCall {
    let step: PlanStep
    let access: STSAccess
    /// The profile whose long-lived key starts the chain, named in advice about the key.
    let keyProfile: String?

    func run(
        source: any CredentialProvider, _ run: ProviderRun,
        _ call: (STSClient, _ code: String?) async throws -> AWSCredentials
    ) async throws -> ProvidedCredentials {
        let base = try await source.credentials(run.forSource).credentials
        let code = try await run.mfaCode()
        let context = run.context
        let sts = try access.client(
            credentials: base, context: context, profile: step.profile, operation: step.operation)
        context.debug(
            "calling \(step.operation) for '\(step.profile)' at \(sts.endpoint) with key \(mask(base.accessKeyId))"
        )
        do {
            return ProvidedCredentials(credentials: try await call(sts, code), origin: .newSession)
        } catch {
            throw advice(for: error, sentCode: code != nil)
        }
    }

    /// Turns an AWS failure into a sentence that says what to do about it.
    func advice(for error: any Error, sentCode: Bool) -> any Error {
        guard case AWSClientError.service(let service) = error else {
            return LatchkeyError.awsCallFailed(operation: step.operation, profile: step.profile, cause: error)
        }
        if sentCode, let serial = step.mfaSerial, service.code == "AccessDenied",
            service.message.lowercased().contains("multifactorauthentication")
                || service.message.lowercased().contains("mfa")
        {
            return LatchkeyError.mfaRejected(profile: step.profile, serial: serial)
        }
        let owner = keyProfile ?? step.profile
        let advice: String
        switch service.code {
        case "InvalidClientTokenId":
            advice =
                " The key for '\(owner)' is not known to AWS (deleted or rotated?): "
                + "store the current one with `latchkey add \(owner)`."
        case "SignatureDoesNotMatch":
            advice =
                " The stored secret does not match its key id: store the pair again with `latchkey add \(owner)`."
        case "ExpiredToken", "ExpiredTokenException":
            advice = " A cached session expired early; run `latchkey clear \(step.profile)` and try again."
        case "AccessDenied" where step.mfaSerial == nil && step.mfaCoveredBy == nil:
            advice =
                " If your account requires MFA, add `mfa_serial = arn:aws:iam::ACCOUNT:mfa/NAME` to the profile."
        default:
            advice = service.isThrottling ? " AWS kept throttling the call; wait a minute and try again." : ""
        }
        return LatchkeyError.awsCallFailed(
            operation: step.operation, profile: step.profile, cause: error, advice: advice)
    }
}
