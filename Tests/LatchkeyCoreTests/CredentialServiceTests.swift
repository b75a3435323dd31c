import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// The session flow with in-memory parts: keyring, HTTP, clock, prompt.
@Suite struct CredentialServiceTests {
    static let serial = "arn:aws:iam::111122223333:mfa/doug"
    let clock = ManualClock()
    let keyring = InMemoryKeyring()
    let longLived = AWSCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")

    func sessionXML(expiresIn seconds: TimeInterval, id: String = "ASIASESSION000000001")
        -> ScriptedTransport.Step
    {
        .xml(
            """
            <GetSessionTokenResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <GetSessionTokenResult><Credentials>
                <AccessKeyId>\(id)</AccessKeyId><SecretAccessKey>sessionsecret</SecretAccessKey>
                <SessionToken>sessiontoken</SessionToken>
                <Expiration>\(iso8601(clock.date + seconds))</Expiration>
              </Credentials></GetSessionTokenResult>
            </GetSessionTokenResponse>
            """)
    }

    static let mfaRejected = ScriptedTransport.Step.xml(
        """
        <ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
        <Message>MultiFactorAuthentication failed with invalid MFA one time pass code. </Message></Error>
        <RequestId>1</RequestId></ErrorResponse>
        """, status: 403)

    func service(
        _ transport: ScriptedTransport, prompt: ScriptedPrompt? = nil,
        runner: ScriptedProcessRunner = ScriptedProcessRunner(output: "")
    ) throws -> CredentialService {
        CredentialService(
            context: CoreContext(
                environment: [:], settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]),
                store: CredentialStore(keyring: keyring), transport: transport,
                mfa: MFACodeSource(prompt: prompt, processRunner: runner, environment: [:]), now: clock.now))
    }

    func plan(mfaProcess: String? = nil, noSession: Bool = false) throws -> CredentialPlan {
        let config = """
            [profile doug]
            mfa_serial = \(Self.serial)
            region = us-east-1
            \(mfaProcess.map { "mfa_process = \($0)" } ?? "")
            """
        return try ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: nil), environment: [:],
            configFile: "config"
        ).plan(for: CredentialRequest(profile: "doug", noSession: noSession))
    }

    func storeKey() async throws {
        try await CredentialStore(keyring: keyring).storeLongLivedKey(
            longLived, profile: "doug", now: clock.date)
    }

    @Test func firstCallAsksOnceAndCachesSecondCallReusesWithoutNetwork() async throws {
        try await storeKey()
        let transport = ScriptedTransport([sessionXML(expiresIn: 3600)])
        let prompt = ScriptedPrompt(["123456"])
        let service = try service(transport, prompt: prompt)

        let first = try await service.credentials(for: try plan())
        #expect(first.origin == .newSession)
        #expect(first.credentials.accessKeyId == "ASIASESSION000000001")
        #expect(prompt.asked == [Self.serial])
        let body = await transport.bodies.first ?? ""
        #expect(body.contains("Action=GetSessionToken") && body.contains("TokenCode=123456"))
        #expect(body.contains("DurationSeconds=3600"))

        clock.advance(by: 3000)
        let second = try await service.credentials(for: try plan())
        #expect(second.origin == .cachedSession)
        #expect(second.credentials == first.credentials)
        #expect(prompt.count == 1)
        #expect(await transport.requests.count == 1)
    }

    @Test func sessionWithLessThanTheMinimumLeftIsReplaced() async throws {
        try await storeKey()
        let transport = ScriptedTransport([
            sessionXML(expiresIn: 3600), sessionXML(expiresIn: 3600, id: "ASIASESSION000000002"),
        ])
        let service = try service(transport, prompt: ScriptedPrompt(["123456", "654321"]))
        _ = try await service.credentials(for: try plan())
        clock.advance(by: 3600 - 299)  // 299 s left: under the 300 s minimum
        let renewed = try await service.credentials(for: try plan())
        #expect(renewed.origin == .newSession)
        #expect(renewed.credentials.accessKeyId == "ASIASESSION000000002")
        let sessions = try await CredentialStore(keyring: keyring).inventory().sessions
        #expect(sessions.count == 1)
    }

    @Test func rejectedCodeCachesNothing() async throws {
        try await storeKey()
        let service = try service(ScriptedTransport([Self.mfaRejected]), prompt: ScriptedPrompt(["000000"]))
        await #expect {
            try await service.credentials(for: try plan())
        } throws: { error in
            "\(error)".contains("the MFA code was rejected")
        }
        #expect(try await CredentialStore(keyring: keyring).inventory().sessions.isEmpty)
    }

    @Test(arguments: ["12345", "1234567", "12 456", "abcdef", ""])
    func malformedCodesNeverReachAWS(code: String) async throws {
        try await storeKey()
        let transport = ScriptedTransport([])
        let service = try service(transport, prompt: ScriptedPrompt([code]))
        await #expect(throws: LatchkeyError.self) { try await service.credentials(for: try plan()) }
        #expect(await transport.requests.isEmpty)
    }

    @Test func flagBeatsMFAProcessWhichBeatsThePrompt() async throws {
        try await storeKey()
        let prompt = ScriptedPrompt(["111111"])
        let runner = ScriptedProcessRunner(output: "222222\n")
        let transport = ScriptedTransport([sessionXML(expiresIn: 3600), sessionXML(expiresIn: 3600)])
        let service = try service(transport, prompt: prompt, runner: runner)

        _ = try await service.credentials(
            for: plan(mfaProcess: "ykman oath accounts code -s 'AWS doug'"), mfaToken: "333333")
        #expect(runner.runs.isEmpty && prompt.count == 0)
        try await keyring.remove(try plan().sessionCacheKey ?? "")

        _ = try await service.credentials(for: try plan(mfaProcess: "ykman oath accounts code -s 'AWS doug'"))
        // mfa_process runs through the shell, as aws-vault runs it.
        #expect(runner.runs == [["/bin/sh", "-c", "ykman oath accounts code -s 'AWS doug'"]])
        #expect(prompt.count == 0)
        let bodies = await transport.bodies
        #expect(bodies[0].contains("TokenCode=333333") && bodies[1].contains("TokenCode=222222"))
    }

    @Test func noPromptAndNoCodeSaysWhatToDo() async throws {
        try await storeKey()
        let service = try service(ScriptedTransport([]))
        await #expect {
            try await service.credentials(for: try plan())
        } throws: { error in
            "\(error)".contains("--mfa-token")
        }
    }

    @Test func missingKeyIsExplained() async throws {
        let service = try service(ScriptedTransport([]), prompt: ScriptedPrompt(["123456"]))
        await #expect {
            try await service.credentials(for: try plan())
        } throws: { error in
            "\(error)".contains("latchkey add doug")
        }
    }

    @Test func expiredSessionsOfAnyProfileAreSweptWhenANewOneIsMade() async throws {
        try await storeKey()
        let store = CredentialStore(keyring: keyring)
        let stale = AWSCredentials(
            accessKeyId: "ASIAOLD", secretAccessKey: "s", sessionToken: "t", expiration: clock.date - 60)
        try await store.storeSession(
            stale, key: "session:other:GetSessionToken:x", profile: "other", type: "GetSessionToken",
            mfaSerial: nil)
        let service = try service(
            ScriptedTransport([sessionXML(expiresIn: 3600)]), prompt: ScriptedPrompt(["123456"]))
        _ = try await service.credentials(for: try plan())
        #expect(try await store.inventory().sessions.map(\.profile) == ["doug"])
    }

    @Test func longLivedKeyPlanNeverCallsAWS() async throws {
        try await storeKey()
        let transport = ScriptedTransport([])
        let resolved = try await service(transport).credentials(for: try plan(noSession: true))
        #expect(resolved.credentials == longLived)
        #expect(resolved.origin == .longLivedKey)
        #expect(await transport.requests.isEmpty)
    }
}
