import AWSClient
import AWSConfig
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// IAM Identity Center tokens: a stored one is used, one about to expire is refreshed with its
/// refresh token before anyone is asked, and a dead refresh token leads to a new sign-in.
@Suite struct SSOTokenTests {
    let clock = ManualClock()
    let keyring = InMemoryKeyring()
    let sso = CredentialSource.SSOSource(
        profile: "dev", sessionName: "corp", startURL: "https://corp.awsapps.com/start", region: "us-east-1",
        accountId: "123456789012", roleName: "Developer", registrationScopes: ["sso:account:access"],
        cacheKey: "session:dev:SSO:x", oidcEndpoint: "http://127.0.0.1:9/oidc", portalEndpoint: "http://127.0.0.1:9/portal")

    final class Presenter: SSOLoginPresenter, @unchecked Sendable {
        var shown: [String] = []
        func present(verificationURI: String, completeURI: String?, userCode: String, profile: String) async {
            shown.append(userCode)
        }
    }

    func service(_ transport: ScriptedTransport, presenter: Presenter?) throws -> CredentialService {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-sso-\(UUID().uuidString)")
        return CredentialService(
            context: CoreContext(
                environment: ["HOME": home.path], settings: try LatchkeySettings(environment: ["HOME": home.path]),
                store: CredentialStore(keyring: keyring), transport: transport,
                mfa: MFACodeSource(prompt: nil, processRunner: ScriptedProcessRunner(output: ""), environment: [:]),
                now: clock.now, ssoPresenter: presenter))
    }

    func storedToken(expiresIn seconds: TimeInterval, refresh: String? = "refresh-1") async throws {
        var token = SSOToken(accessToken: "old-access", expiresAt: clock.date + seconds)
        token.refreshToken = refresh
        token.clientId = "client"
        token.clientSecret = "secret"
        token.registrationExpiresAt = clock.date + 86400 * 30
        try await CredentialStore(keyring: keyring).storeSSOToken(token, name: "corp")
    }

    @Test func aValidTokenIsUsedAsItIs() async throws {
        try await storedToken(expiresIn: 3600)
        let transport = ScriptedTransport([])
        let token = try await service(transport, presenter: nil).ssoToken(sso, forceLogin: false)
        #expect(token.accessToken == "old-access")
        #expect(await transport.requests.isEmpty)
    }

    @Test func aTokenNearItsEndIsRefreshedWithoutAsking() async throws {
        try await storedToken(expiresIn: 300)
        let transport = ScriptedTransport([
            .json(#"{"accessToken": "new-access", "expiresIn": 28800, "refreshToken": "refresh-2", "tokenType": "Bearer"}"#)
        ])
        let presenter = Presenter()
        let token = try await service(transport, presenter: presenter).ssoToken(sso, forceLogin: false)
        #expect(token.accessToken == "new-access" && token.refreshToken == "refresh-2")
        #expect(presenter.shown.isEmpty)
        let body = await transport.bodies.first ?? ""
        #expect(body.contains("refresh_token") && body.contains("refresh-1"))
        #expect(try await CredentialStore(keyring: keyring).ssoToken(name: "corp")?.accessToken == "new-access")
    }

    @Test func aDeadRefreshTokenLeadsToANewSignIn() async throws {
        try await storedToken(expiresIn: -60)
        let transport = ScriptedTransport([
            .json(#"{"error": "invalid_grant", "error_description": "expired"}"#, status: 400,
                  headers: ["x-amzn-ErrorType": "InvalidGrantException"]),
            .json(#"{"deviceCode": "dev-1", "userCode": "ABCD-EFGH", "verificationUri": "https://device", "expiresIn": 600, "interval": 1}"#),
            .json(#"{"accessToken": "signed-in", "expiresIn": 28800, "refreshToken": "refresh-3", "tokenType": "Bearer"}"#),
        ])
        let presenter = Presenter()
        let token = try await service(transport, presenter: presenter).ssoToken(sso, forceLogin: false)
        #expect(token.accessToken == "signed-in")
        #expect(presenter.shown == ["ABCD-EFGH"])
    }

    @Test func withNoOneToShowTheSignInTheErrorSaysWhatToRun() async throws {
        try await storedToken(expiresIn: -60, refresh: nil)
        await #expect {
            try await service(ScriptedTransport([]), presenter: nil).ssoToken(sso, forceLogin: false)
        } throws: { error in
            "\(error)".contains("latchkey sso login dev")
        }
    }
}
