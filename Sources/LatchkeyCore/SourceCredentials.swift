import AWSClient
import AWSSigV4
import Foundation
import Keyring
import SystemSupport

/// Shows a person the IAM Identity Center sign-in (device code and URL) and opens the browser.
/// The CLI implements it on the terminal; tests script it.
public protocol SSOLoginPresenter: Sendable {
    func present(verificationURI: String, completeURI: String?, userCode: String, profile: String) async
}

extension CredentialService {
    /// Credentials from a source that is not a stored or written key: instance metadata, a
    /// container endpoint, web identity, IAM Identity Center or a credential process. The ones
    /// that cost a call or a program are cached under the source's key until they expire.
    func externalSourceCredentials(_ plan: CredentialPlan, now: Date) async throws -> (
        credentials: AWSCredentials, origin: CredentialOrigin
    ) {
        if let key = plan.source.cacheKey, let cached = try await fresh(key, now: now) {
            return (cached, .cachedSession)
        }
        let credentials: AWSCredentials
        do {
            credentials = try await fetch(plan)
        } catch let error as LatchkeyError {
            throw error
        } catch {
            throw LatchkeyError.sourceUnavailable(
                profile: plan.profile, source: plan.source.operation, reason: "\(error)")
        }
        if let key = plan.source.cacheKey, credentials.expiration != nil {
            try await context.store.storeSession(
                credentials, key: key, profile: plan.profile, type: plan.source.operation, mfaSerial: nil)
        }
        return (credentials, .newSession)
    }

    private func fetch(_ plan: CredentialPlan) async throws -> AWSCredentials {
        let environment = context.environment
        switch plan.source {
        case .instanceMetadata:
            let endpoint = try IMDSClient.resolveEndpoint(
                environment: environment, profileEndpoint: plan.instanceMetadataEndpoint,
                profileMode: plan.instanceMetadataMode)
            return try await IMDSClient(endpoint: endpoint, transport: context.transport).credentials()
                .credentials
        case .ecsContainer:
            guard let configuration = try ContainerCredentialsClient.configuration(environment: environment)
            else {
                throw LatchkeyError.sourceUnavailable(
                    profile: plan.profile, source: "credential_source = EcsContainer",
                    reason: "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set.")
            }
            return try await ContainerCredentialsClient(
                configuration: configuration, transport: context.transport
            )
            .credentials().credentials
        case .webIdentity(let web):
            let token: String
            do {
                token = try String(contentsOfFile: web.tokenFile, encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw LatchkeyError.sourceUnavailable(
                    profile: web.profile, source: "web_identity_token_file",
                    reason: "\(web.tokenFile) cannot be read; check the path and that the token is there.")
            }
            let sts = try stsClient(
                credentials: nil, plan: plan, profile: web.profile, operation: "AssumeRoleWithWebIdentity")
            let scope = plan.steps.isEmpty ? plan.scope : nil
            return try await sts.assumeRoleWithWebIdentity(
                roleArn: web.roleArn, roleSessionName: web.roleSessionName, webIdentityToken: token,
                policy: scope?.policy, policyArns: scope?.policyArns ?? []
            ).credentials
        case .sso(let sso):
            return try await ssoRoleCredentials(sso)
        case .credentialProcess(let profile, let command, _):
            return try await processCredentials(profile: profile, command: command)
        case .storedKey, .staticKeys, .environment, .loginSession:
            preconditionFailure("keys are read by sourceCredentials")
        }
    }

    // MARK: credential_process

    func processCredentials(profile: String, command: String) async throws -> AWSCredentials {
        let arguments: [String]
        do {
            arguments = try splitCommandLine(command)
        } catch {
            throw LatchkeyError.sourceUnavailable(
                profile: profile, source: "credential_process", reason: "\(error); fix credential_process.")
        }
        let output: String
        do {
            output = try await context.mfa.processRunner.output(
                of: arguments, environment: childEnvironment(context.environment),
                timeout: .seconds(context.settings.processTimeout))
        } catch {
            throw LatchkeyError.sourceUnavailable(
                profile: profile, source: "credential_process `\(arguments[0])`",
                reason: "it failed: \(error). Run it by hand to see why.")
        }
        do {
            return try CredentialProcessOutput.parse(Data(output.utf8), now: context.now()).credentials
        } catch {
            throw LatchkeyError.sourceUnavailable(
                profile: profile, source: "credential_process `\(arguments[0])`",
                reason: "its output is not valid: \(error)")
        }
    }

    // MARK: IAM Identity Center

    func ssoRoleCredentials(_ sso: CredentialSource.SSOSource) async throws -> AWSCredentials {
        guard let accountId = sso.accountId, let roleName = sso.roleName else {
            throw LatchkeyError.invalidSSOConfig(
                profile: sso.profile,
                problem:
                    "it names an sso-session but no sso_account_id and sso_role_name, so it can sign in but "
                    + "not get credentials; add both to the profile.")
        }
        let portal = try SSOPortalClient(
            region: sso.region, endpoint: sso.portalEndpoint.flatMap(URL.init(string:)),
            transport: context.transport)
        var token = try await ssoToken(sso, forceLogin: false)
        do {
            return try await portal.getRoleCredentials(
                accountId: accountId, roleName: roleName, accessToken: token.accessToken)
        } catch let error as AWSClientError where error.serviceError?.code == "UnauthorizedException" {
            // The token was revoked or expired early: sign in again, once.
            token = try await ssoToken(sso, forceLogin: true)
            return try await portal.getRoleCredentials(
                accountId: accountId, roleName: roleName, accessToken: token.accessToken)
        }
    }

    /// A usable IAM Identity Center token: the stored one, the AWS CLI's, a refreshed one, or a new
    /// sign-in through the device flow, in that order.
    public func ssoToken(_ sso: CredentialSource.SSOSource, forceLogin: Bool) async throws -> SSOToken {
        let now = context.now()
        let store = context.store
        let cliCache = SSOTokenCache(
            home: URL(fileURLWithPath: UserFolders(environment: context.environment).home))
        let cliKey: SSOTokenCache.Key = sso.sessionName.map { .session($0) } ?? .startURL(sso.startURL)
        var token = try await store.ssoToken(name: sso.tokenName)
        if token == nil { token = try? cliCache.read(cliKey) }
        if !forceLogin, let current = token {
            if !current.needsRefresh(at: now) { return current }
            if current.canRefresh(at: now), let refreshed = try? await refresh(current, sso) {
                try await save(refreshed, sso, cliCache: cliCache, cliKey: cliKey)
                return refreshed
            }
            if !current.isExpired(at: now) { return current }
        }
        let fresh = try await deviceLogin(sso, registration: token)
        try await save(fresh, sso, cliCache: cliCache, cliKey: cliKey)
        return fresh
    }

    private func oidc(_ sso: CredentialSource.SSOSource) throws -> SSOOIDCClient {
        try SSOOIDCClient(
            region: sso.region, endpoint: sso.oidcEndpoint.flatMap(URL.init(string:)),
            transport: context.transport)
    }

    private func refresh(_ token: SSOToken, _ sso: CredentialSource.SSOSource) async throws -> SSOToken {
        guard let refreshToken = token.refreshToken, let clientId = token.clientId,
            let secret = token.clientSecret
        else {
            throw LatchkeyError.invalidSSOConfig(profile: sso.profile, problem: "no refresh token")
        }
        let answer = try await oidc(sso).createToken(
            clientId: clientId, clientSecret: secret, grant: .refreshToken(refreshToken))
        var refreshed = token
        refreshed.accessToken = answer.accessToken
        refreshed.expiresAt = context.now().addingTimeInterval(TimeInterval(answer.expiresIn))
        refreshed.refreshToken = answer.refreshToken ?? refreshToken
        return refreshed
    }

    private func deviceLogin(_ sso: CredentialSource.SSOSource, registration previous: SSOToken?) async throws
        -> SSOToken
    {
        guard context.ssoPresenter != nil else {
            if let off = context.promptsOff {
                throw PromptRefused(.ssoSignIn(profile: sso.profile), why: off)
            }
            throw LatchkeyError.sourceUnavailable(
                profile: sso.profile, source: "IAM Identity Center",
                reason: "the sign-in has expired and nothing can show the sign-in page here; run "
                    + "`latchkey sso login \(sso.profile)` in a terminal.")
        }
        let client = try oidc(sso)
        let now = context.now()
        var clientId = previous?.clientId
        var clientSecret = previous?.clientSecret
        if clientId == nil || clientSecret == nil || (previous?.registrationExpiresAt ?? .distantPast) <= now
        {
            let registration = try await client.registerClient(
                clientName: "latchkey", scopes: sso.registrationScopes)
            clientId = registration.clientId
            clientSecret = registration.clientSecret
            var fresh = SSOToken(
                accessToken: "", expiresAt: now, startUrl: sso.startURL, region: sso.region,
                clientId: registration.clientId, clientSecret: registration.clientSecret)
            fresh.registrationExpiresAt = registration.clientSecretExpiresAt
            return try await authorize(client, sso, registration: fresh)
        }
        var kept = previous ?? SSOToken(accessToken: "", expiresAt: now)
        kept.clientId = clientId
        kept.clientSecret = clientSecret
        return try await authorize(client, sso, registration: kept)
    }

    private func authorize(_ client: SSOOIDCClient, _ sso: CredentialSource.SSOSource, registration: SSOToken)
        async throws -> SSOToken
    {
        guard let clientId = registration.clientId, let secret = registration.clientSecret,
            let presenter = context.ssoPresenter
        else {
            throw LatchkeyError.invalidSSOConfig(
                profile: sso.profile, problem: "the client registration failed.")
        }
        let authorization = try await client.startDeviceAuthorization(
            clientId: clientId, clientSecret: secret, startUrl: sso.startURL)
        await presenter.present(
            verificationURI: authorization.verificationUri,
            completeURI: authorization.verificationUriComplete,
            userCode: authorization.userCode, profile: sso.profile)
        let answer = try await client.pollForToken(
            clientId: clientId, clientSecret: secret, authorization: authorization, startedAt: context.now(),
            now: context.now, sleep: { try await Task.sleep(for: $0) })
        var token = registration
        token.accessToken = answer.accessToken
        token.expiresAt = context.now().addingTimeInterval(TimeInterval(answer.expiresIn))
        token.refreshToken = answer.refreshToken
        token.startUrl = sso.startURL
        token.region = sso.region
        return token
    }

    private func save(
        _ token: SSOToken, _ sso: CredentialSource.SSOSource, cliCache: SSOTokenCache,
        cliKey: SSOTokenCache.Key
    )
        async throws
    {
        try await context.store.storeSSOToken(token, name: sso.tokenName)
        if context.settings.shareSSOCache { try cliCache.write(token, for: cliKey) }
    }
}
