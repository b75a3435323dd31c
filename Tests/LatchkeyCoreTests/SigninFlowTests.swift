import AWSClient
import AWSSigV4
import Foundation
import LatchkeyCore
import LatchkeyTestSupport
import Testing

private let flowNow = Date(timeIntervalSince1970: 1_800_000_000)

/// A token answer whose ID token names `arn`.
private func query(_ url: URL) -> [String: String] {
    let items = URLComponents(url: url, resolvingAgainstBaseURL: false)?.queryItems ?? []
    return Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { $1 })
}

/// A browser stand-in: sends `GET redirect_uri?<extra>` the way a browser follows the redirect.
private func visitCallback(_ authorizeURL: URL, _ extra: (_ state: String) -> String) async throws
    -> HTTPResponse
{
    let parameters = query(authorizeURL)
    let target = try #require(
        URL(string: "\(parameters["redirect_uri"] ?? "")?\(extra(parameters["state"] ?? ""))"))
    return try await CurlTransport().send(HTTPRequest(method: "GET", url: target), timeout: .seconds(10))
}

private final class Box<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value?
    var value: Value? { lock.withLock { stored } }
    func set(_ value: Value) { lock.withLock { stored = value } }
}

@Suite("Sign-in flow (aws login): loopback listener and pasted code")
struct SigninFlowTests {
    func flow(_ transport: any HTTPTransport, base: URL? = nil) throws -> SigninFlow {
        SigninFlow(
            region: "us-east-1",
            baseURI: try base ?? SigninOAuthEndpoint.baseURI(region: "us-east-1"),
            transport: transport, retry: .none, now: { flowNow }, callbackTimeout: .seconds(60))
    }

    @Test func sameDeviceReceivesTheCodeOnLoopbackAndExchangesIt() async throws {
        let transport = ScriptedTransport([
            .signinToken(arn: "arn:aws:iam::123456789012:user/ada", accessKeyId: "ASIAFLOW")
        ])
        let opened = Box<URL>()
        let page = Box<HTTPResponse>()
        let session = try await flow(transport).sameDevice { url in
            opened.set(url)
            page.set(try await visitCallback(url) { "code=the-code&state=\($0)" })
        }
        let url = try #require(opened.value)
        let parameters = query(url)
        let redirect = try #require(parameters["redirect_uri"])
        #expect(redirect.wholeMatch(of: #/http://127\.0\.0\.1:[0-9]+/oauth/callback/#) != nil)
        #expect(parameters["client_id"] == SigninOAuthClientKind.sameDevice.clientId)
        #expect(page.value?.status == 200)
        let pageText = String(decoding: page.value?.body ?? Data(), as: UTF8.self)
        #expect(pageText.contains("Signed in"))

        let request = try #require(await transport.requests.first)
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: String])
        #expect(body["code"] == "the-code" && body["redirectUri"] == redirect)
        let verifier = try #require(body["codeVerifier"])
        #expect(try PKCE(verifier: verifier).challenge == parameters["code_challenge"])
        #expect(session.identityArn == "arn:aws:iam::123456789012:user/ada")
        #expect(session.credentials.accessKeyId == "ASIAFLOW" && session.issuedAt == flowNow)
        #expect(
            session.clientId == SigninOAuthClientKind.sameDevice.clientId && session.region == "us-east-1")
    }

    @Test func aCallbackWithAnotherStateIsRefused() async throws {
        let transport = ScriptedTransport()
        // Detached, so the flow's failure (which cancels the opener) cannot cut off the browser's read.
        let visit = Box<Task<HTTPResponse, any Error>>()
        await #expect(throws: SigninAuthorizationError.stateMismatch) {
            try await flow(transport).sameDevice { url in
                let task = Task.detached {
                    try await visitCallback(url) { _ in "code=stolen&state=forged-state" }
                }
                visit.set(task)
                _ = try await task.value
            }
        }
        #expect(try await visit.value?.value.status == 400)
        #expect(await transport.requests.isEmpty)  // no exchange was attempted
    }

    @Test func aDeniedSignInEndsTheFlowAndUnrelatedRequestsAreIgnored() async throws {
        let transport = ScriptedTransport()
        await #expect(throws: SigninAuthorizationError.denied(error: "access_denied", description: nil)) {
            try await flow(transport).sameDevice { url in
                let favicon = try #require(
                    URL(
                        string: query(url)["redirect_uri"]?.replacingOccurrences(
                            of: "/oauth/callback", with: "/favicon.ico") ?? ""))
                let missing = try await CurlTransport().send(
                    HTTPRequest(method: "GET", url: favicon), timeout: .seconds(10))
                #expect(missing.status == 404)
                _ = try await visitCallback(url) { _ in "state=x" }  // neither code nor error: keep waiting
                _ = try await visitCallback(url) { "error=access_denied&state=\($0)" }
            }
        }
        #expect(await transport.requests.isEmpty)
    }

    @Test func crossDeviceTakesThePastedCode() async throws {
        let transport = ScriptedTransport([
            .signinToken(arn: "arn:aws:sts::123456789012:assumed-role/Admin/ada")
        ])
        let session = try await flow(transport).crossDevice { url in
            let parameters = query(url)
            #expect(parameters["client_id"] == SigninOAuthClientKind.crossDevice.clientId)
            #expect(
                parameters["redirect_uri"]
                    == "https://us-east-1.signin.aws.amazon.com/v1/sessions/confirmation")
            return Data("state=\(parameters["state"] ?? "")&code=pasted".utf8).base64EncodedString() + "\n"
        }
        let exchange = try #require(await transport.requests.first)
        let body = try #require(try JSONSerialization.jsonObject(with: exchange.body) as? [String: String])
        #expect(body["code"] == "pasted" && body["clientId"] == SigninOAuthClientKind.crossDevice.clientId)
        #expect(session.userName == "ada" && session.accountId == "123456789012")
        await #expect(throws: SigninAuthorizationError.pastedCodeOfAnotherSignIn) {
            try await flow(ScriptedTransport()).crossDevice { _ in
                Data("state=other&code=pasted".utf8).base64EncodedString()
            }
        }
    }
}

// MARK: - A real browser against the AWS double

/// The AWS double (Tests/Double/latchkey_double.py) as a child process.
private final class DoubleProcess: @unchecked Sendable {
    static let doubleFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Double")
    let process = Process()
    let endpoint: URL

    init() throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Self.doubleFolder.appendingPathComponent("latchkey_double.py").path, "--port", "0",
            "--quiet",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), !byte.isEmpty,
            byte != Data("\n".utf8)
        {
            line += byte
        }
        let text = String(decoding: line, as: UTF8.self)
        guard text.hasPrefix("ready "), let url = URL(string: String(text.dropFirst(6))) else {
            process.terminate()
            throw ServerFailed(message: "the AWS double did not start: '\(text)'")
        }
        endpoint = url
    }

    deinit { process.terminate() }

    /// Runs Python with the double's fixtures importable; returns its stdout.
    func python(_ script: String) throws -> String {
        try run(["python3", "-c", script, Self.doubleFolder.path, endpoint.absoluteString])
    }
}

private struct ServerFailed: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// Runs a program to its end; stdout as text, a failure unless it exits 0.
private func run(_ arguments: [String], environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let environment { process.environment = environment }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw ServerFailed(message: "\(arguments.prefix(2)) exited with \(process.terminationStatus)")
    }
    return String(decoding: data, as: UTF8.self)
}

/// Blocking work on a thread of its own, off the cooperative pool.
private func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result(catching: work)) }.start()
    }
}

@Suite("Sign-in flow with headless Chromium against the AWS double", .serialized)
struct SigninFlowBrowserTests {
    static let setup = #"""
        import json, sys
        sys.path.insert(0, sys.argv[1])
        from double_fixtures import advance_clock, create_console_user, signin_autofill
        user = create_console_user(sys.argv[2], "ada", "Chromium-signs-in-1!", mfa=True)
        advance_clock(sys.argv[2], 60)  # enabling the device spent the current TOTP steps
        signin_autofill(sys.argv[2], "ada", "Chromium-signs-in-1!", mfa="auto")
        print(json.dumps({"arn": user["arn"], "user_id": user["user_id"]}))
        """#

    @Test func chromiumSignsInWithMFAAndTheSessionWorks() async throws {
        let double = try await onThread { try DoubleProcess() }
        let user = try #require(
            try JSONSerialization.jsonObject(
                with: Data(try await onThread { try double.python(Self.setup) }.utf8))
                as? [String: String])
        let base = try SigninOAuthEndpoint.baseURI(region: "us-east-1", customEndpoint: double.endpoint)
        let flow = SigninFlow(
            region: "us-east-1", baseURI: base, transport: CurlTransport(), retry: .none, now: Date.init,
            callbackTimeout: .seconds(120))
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let dom = Box<String>()
        let session = try await flow.sameDevice { url in
            // --dump-dom loads the page, runs its scripts (the double's autofill submits the forms)
            // and follows the redirects to the loopback listener, then prints the final page.
            let page = try await onThread {
                try run([
                    "timeout", "120", "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--no-first-run", "--user-data-dir=\(profile.path)", "--dump-dom", url.absoluteString,
                ])
            }
            dom.set(page)
        }
        #expect(dom.value?.contains("Signed in.") == true)
        #expect(session.identityArn == user["arn"])
        #expect(session.clientId == SigninOAuthClientKind.sameDevice.clientId)

        // The credentials are the user's (the double checks signatures), and the session refreshes.
        let sts = try STSClient(
            credentials: session.credentials, region: "us-east-1", endpoint: double.endpoint,
            transport: CurlTransport())
        #expect(try await sts.getCallerIdentity().arn == user["arn"])
        let client = SigninOAuthClient(
            baseURI: base, transport: CurlTransport(), retry: .none, now: Date.init)
        let refreshed = try await client.refresh(session)
        #expect(refreshed.refreshToken != session.refreshToken)
        #expect(refreshed.credentials.accessKeyId != session.credentials.accessKeyId)
        await #expect(
            throws: SigninTokenError.tokenExpired(
                message: "The refresh token is expired, revoked or was already used.")
        ) {
            try await client.refresh(session)  // rotated: the old refresh token is dead
        }
    }
}
