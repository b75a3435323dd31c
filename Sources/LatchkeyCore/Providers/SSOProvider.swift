import AWSClient
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import Keyring
import SystemSupport

/// Shows a person the IAM Identity Center sign-in (device code and URL) and opens the browser.
/// The CLI implements it on the terminal; tests script it.
public protocol SSOLoginPresenter: Sendable {
    func present(verificationURI: String, completeURI: String?, userCode: String, profile: String) async
}

/// IAM Identity Center: the role credentials of `sso_account_id` / `sso_role_name`, with the
/// sign-in token of the profile's sso-session (or legacy start URL).
struct SSOProvider: CredentialProvider {
    let sso: CredentialSource.SSOSource

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let context = run.context
        let signIn = SSOSignIn(context: context)
        guard let accountId = sso.accountId, let roleName = sso.roleName else {
            throw LatchkeyError.invalidSSOConfig(
                profile: sso.profile,
                problem:
                    "it names an sso-session but no sso_account_id and sso_role_name, so it can sign in but "
                    + "not get credentials; add both to the profile.")
        }
        let portal = try SSOPortalClient(
            region: sso.region,
            endpoint: try configuredEndpoint(
                sso.portalEndpoint, setting: "endpoint_url, AWS_ENDPOINT_URL_SSO or AWS_ENDPOINT_URL"),
            transport: context.transport)
        var token = try await signIn.token(sso, forceLogin: false)
        let credentials: AWSCredentials
        do {
            credentials = try await portal.getRoleCredentials(
                accountId: accountId, roleName: roleName, accessToken: token.accessToken)
        } catch let error as AWSClientError where error.serviceError?.code == "UnauthorizedException" {
            // The token was revoked or expired early: sign in again, once.
            token = try await signIn.token(sso, forceLogin: true)
            credentials = try await portal.getRoleCredentials(
                accountId: accountId, roleName: roleName, accessToken: token.accessToken)
        }
        return ProvidedCredentials(credentials: credentials, origin: .newSession)
    }
}

/// The IAM Identity Center sign-in token: kept in the keyring, refreshed, or made anew through the
/// device flow (`latchkey sso login` and any profile whose token has run out).
public struct SSOSignIn: Sendable {
    public let context: CoreContext

    public init(context: CoreContext) {
        self.context = context
    }

    /// `sso logout`: forgets the token (and the AWS CLI's copy when shared) and the profile's cached
    /// sessions. Nil when no token was stored, else how many cached sessions went.
    public func signOut(_ sso: CredentialSource.SSOSource, profile: String) async throws -> Int? {
        let store = context.store
        let removed = try await store.removeSSOToken(name: sso.tokenName)
        if context.settings.shareSSOCache {
            let cache = SSOTokenCache(
                home: URL(fileURLWithPath: UserFolders(environment: context.environment).home))
            try cache.remove(sso.sessionName.map { .session($0) } ?? .startURL(sso.startURL))
        }
        let sessions = try await store.removeSessions(profile: profile)
        return removed ? sessions : nil
    }

    /// A usable IAM Identity Center token: the stored one, the AWS CLI's, a refreshed one, or a new
    /// sign-in through the device flow, in that order.
    public func token(_ sso: CredentialSource.SSOSource, forceLogin: Bool) async throws -> SSOToken {
        let now = context.now()
        let store = context.store
        let cliCache = SSOTokenCache(
            home: URL(fileURLWithPath: UserFolders(environment: context.environment).home))
        let cliKey: SSOTokenCache.Key = sso.sessionName.map { .session($0) } ?? .startURL(sso.startURL)
        var token = try await store.ssoToken(name: sso.tokenName)
        if token == nil {
            do {
                token = try cliCache.read(cliKey)
            } catch {
                // The AWS CLI's own file: unreadable, it is simply not a token latchkey can use.
                context.debug("ignoring the AWS CLI's SSO cache file: \(error)")
            }
        }
        if !forceLogin, let current = token {
            if !current.needsRefresh(at: now) { return current }
            if current.canRefresh(at: now) {
                do {
                    let refreshed = try await refresh(current, sso)
                    try await save(refreshed, sso, cliCache: cliCache, cliKey: cliKey)
                    return refreshed
                } catch  where !current.isExpired(at: now) {
                    // The token still works: use it, and try refreshing next time.
                    context.debug("could not refresh the IAM Identity Center token: \(error)")
                    return current
                } catch {
                    context.notice(
                        "could not refresh the IAM Identity Center sign-in of '\(sso.profile)' (\(error)); "
                            + "signing in again.")
                }
            }
            if !current.isExpired(at: now) { return current }
        }
        let fresh = try await deviceLogin(sso, registration: token)
        try await save(fresh, sso, cliCache: cliCache, cliKey: cliKey)
        return fresh
    }

    private func oidc(_ sso: CredentialSource.SSOSource) throws -> SSOOIDCClient {
        try SSOOIDCClient(
            region: sso.region,
            endpoint: try configuredEndpoint(
                sso.oidcEndpoint, setting: "endpoint_url, AWS_ENDPOINT_URL_SSO_OIDC or AWS_ENDPOINT_URL"),
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
