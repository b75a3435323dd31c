import AWSClient
import AWSSigV4
import Foundation
import FuzzSupport

/// The JSON latchkey reads from other programs and services: credential_process output, the SSO
/// token cache, and the answers of SSO OIDC, the SSO portal, the container credential endpoint,
/// IMDS and the console federation endpoint, each as a 200 and as a 400 through the real client.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    guard let start else { return 0 }
    let data = Data(UnsafeBufferPointer(start: start, count: count))
    _ = try? CredentialProcessOutput.parse(data, now: Date(timeIntervalSince1970: 1_700_000_000))
    if let token = try? JSONDecoder().decode(SSOToken.self, from: data) {
        _ = token.description
    }
    for status in [200, 400] {
        let transport = FixedResponse(status: status, body: data)
        runBlocking {
            await ssoOIDC(transport)
            await ssoPortal(transport)
            await metadataServices(transport)
        }
    }
    return 0
}

func ssoOIDC(_ transport: FixedResponse) async {
    guard let oidc = try? SSOOIDCClient(region: "us-east-1", transport: transport, retry: .none) else {
        return
    }
    _ = try? await oidc.registerClient(clientName: "latchkey", scopes: ["sso:account:access"])
    _ = try? await oidc.startDeviceAuthorization(
        clientId: "id", clientSecret: "secret", startUrl: "https://example.awsapps.com/start")
    _ = try? await oidc.createToken(clientId: "id", clientSecret: "secret", grant: .refreshToken("refresh"))
    // The polling loop reads error codes; a clock moved by each sleep ends it at the deadline.
    let clock = FakeClock()
    let authorization = SSODeviceAuthorization(
        deviceCode: "device", userCode: "ABCD-EFGH", verificationUri: "https://device.sso.example",
        expiresIn: 60, interval: 5)
    _ = try? await oidc.pollForToken(
        clientId: "id", clientSecret: "secret", authorization: authorization, startedAt: clock.now(),
        now: { clock.now() }, sleep: { clock.advance($0) })
}

func ssoPortal(_ transport: FixedResponse) async {
    guard let portal = try? SSOPortalClient(region: "us-east-1", transport: transport, retry: .none) else {
        return
    }
    _ = try? await portal.getRoleCredentials(accountId: "123456789012", roleName: "Admin", accessToken: "t")
    _ = try? await portal.listAccounts(accessToken: "t")
    _ = try? await portal.listAccountRoles(accountId: "123456789012", accessToken: "t")
    _ = try? await portal.allAccounts(accessToken: "t", maxPages: 3)
    _ = try? await portal.allAccountRoles(accountId: "123456789012", accessToken: "t", maxPages: 3)
    _ = try? await portal.logout(accessToken: "t")
}

func metadataServices(_ transport: FixedResponse) async {
    if let url = URL(string: "http://169.254.170.2/v2/credentials/fuzz") {
        let container = ContainerCredentialsClient(
            configuration: .init(url: url, authorization: .token("token")), transport: transport, retry: .none
        )
        _ = try? await container.credentials()
    }
    let imds = IMDSClient(endpoint: IMDSClient.EndpointMode.ipv4.endpoint, transport: transport, retry: .none)
    _ = try? await imds.fetchToken()
    _ = try? await imds.roleName(token: "token")
    _ = try? await imds.credentials(roleName: "role", token: "token")
    let signin = SigninClient(
        endpoint: SigninEndpoint.resolve(region: "us-east-1").federation, transport: transport, retry: .none)
    let session = AWSCredentials(
        accessKeyId: "ASIAFUZZ", secretAccessKey: "secret", sessionToken: "session",
        expiration: Date(timeIntervalSince1970: 1_700_003_600))
    _ = try? await signin.getSigninToken(credentials: session, sessionDuration: 3600)
}

/// Answers every request with the fuzzed body.
struct FixedResponse: HTTPTransport {
    let status: Int
    let body: Data
    func send(_ request: HTTPRequest, timeout: Duration) async throws -> HTTPResponse {
        HTTPResponse(status: status, headers: ["content-type": "application/json"], body: body)
    }
}

/// A clock that only moves when slept on, so the polling loop takes no real time.
final class FakeClock: @unchecked Sendable {
    private let lock = NSLock()
    private var elapsed: TimeInterval = 0

    func now() -> Date {
        lock.withLock { Date(timeIntervalSince1970: 1_700_000_000 + elapsed) }
    }

    func advance(_ duration: Duration) {
        lock.withLock { elapsed += Double(duration.components.seconds) }
    }
}

/// The executable's entry point under SwiftPM (see CFuzzDriver.h).
@_cdecl("FuzzJSON_main")
public func fuzzJSONMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runFuzzer(argc, argv, fuzzJSON)
}
