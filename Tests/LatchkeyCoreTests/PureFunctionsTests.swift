import AWSClient
import AWSSigV4
import Foundation
import Testing

@testable import LatchkeyCore

@Suite struct DurationTests {
    @Test(arguments: [
        ("3600", 3600), ("3600s", 3600), ("15m", 900), ("1h", 3600), ("1h30m", 5400), ("2d", 172_800),
        (" 12H ", 43200), ("0", 0),
    ])
    func parses(text: String, seconds: Int) throws {
        #expect(try parseDuration(text) == seconds)
    }

    @Test(arguments: ["", "soon", "1x", "h", "-5", "1h30", "1.5h"])
    func refuses(text: String) {
        #expect(throws: LatchkeyError.self) { try parseDuration(text) }
    }

    @Test func formatsForPeople() {
        #expect(formatDuration(45) == "45s")
        #expect(formatDuration(59 * 60 + 59) == "59m")
        #expect(formatDuration(3600) == "1h")
        #expect(formatDuration(3900) == "1h05m")
        #expect(formatDuration(-3) == "0s")
    }
}

@Suite struct CommandLineSplitTests {
    @Test(arguments: [
        ("ykman oath accounts code -s AWS", ["ykman", "oath", "accounts", "code", "-s", "AWS"]),
        (
            "ykman oath accounts code --single \"AWS:doug smith\"",
            ["ykman", "oath", "accounts", "code", "--single", "AWS:doug smith"]
        ),
        ("'/opt/my tools/code' a\\ b ''", ["/opt/my tools/code", "a b", ""]),
        ("  spaced   out  ", ["spaced", "out"]),
        ("echo $HOME;rm", ["echo", "$HOME;rm"]),
    ])
    func splitsLikeAShellWithoutOne(text: String, words: [String]) throws {
        #expect(try splitCommandLine(text) == words)
    }

    @Test(arguments: ["'open", "\"open", "trailing\\", "   "])
    func refusesUnbalanced(text: String) {
        #expect(throws: CommandLineError.self) { try splitCommandLine(text) }
    }
}

@Suite struct OutputTests {
    let session = AWSCredentials(
        accessKeyId: "ASIAEXAMPLEEXAMPLE12", secretAccessKey: "secret/with+chars'quote",
        sessionToken: "token==", expiration: Date(timeIntervalSince1970: 1_795_000_000))

    @Test func credentialProcessJSON() throws {
        let text = renderCredentials(session, format: .json, profile: "doug", region: "eu-west-1")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(object["Version"] as? Int == 1)
        #expect(object["AccessKeyId"] as? String == session.accessKeyId)
        #expect(object["SecretAccessKey"] as? String == session.secretAccessKey)
        #expect(object["SessionToken"] as? String == "token==")
        #expect(object["Expiration"] as? String == "2026-11-18T11:06:40Z")
    }

    @Test func longLivedKeyHasNoTokenOrExpiration() throws {
        let key = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "s")
        let text = renderCredentials(key, format: .json, profile: "doug", region: nil)
        #expect(!text.contains("SessionToken") && !text.contains("Expiration"))
    }

    @Test func exportEnvQuotesForTheShell() {
        let text = renderCredentials(session, format: .exportEnv, profile: "doug", region: nil)
        #expect(text.contains("export AWS_SECRET_ACCESS_KEY='secret/with+chars'\\''quote'\n"))
        #expect(text.contains("export AWS_SESSION_TOKEN=token==\n"))
    }

    @Test func iniSection() {
        let text = renderCredentials(session, format: .ini, profile: "doug", region: "eu-west-1")
        #expect(text.hasPrefix("[doug]\naws_access_key_id = ASIAEXAMPLEEXAMPLE12\n"))
        #expect(
            text.contains(
                "aws_session_token = token==\naws_credential_expiration = 2026-11-18T11:06:40Z\nregion = eu-west-1\n"
            ))
        let key = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "s")
        #expect(!renderCredentials(key, format: .ini, profile: "doug", region: nil).contains("expiration"))
    }

    @Test func execEnvironmentReplacesConflicts() {
        let base = [
            "PATH": "/bin", "AWS_PROFILE": "x", "AWS_SECURITY_TOKEN": "old", "AWS_ACCESS_KEY_ID": "AKIAOLD",
            "AWS_DEFAULT_PROFILE": "y", "AWS_SDK_LOAD_CONFIG": "1", "AWS_CONFIG_FILE": "/c",
        ]
        let environment = execEnvironment(
            base: base, credentials: session, profile: "doug", region: "ap-south-1")
        #expect(environment["PATH"] == "/bin")
        #expect(environment["AWS_CONFIG_FILE"] == "/c")
        #expect(environment["AWS_PROFILE"] == nil && environment["AWS_DEFAULT_PROFILE"] == nil)
        #expect(environment["AWS_SECURITY_TOKEN"] == nil && environment["AWS_SDK_LOAD_CONFIG"] == nil)
        #expect(environment["AWS_ACCESS_KEY_ID"] == session.accessKeyId)
        #expect(environment["AWS_SESSION_TOKEN"] == "token==")
        #expect(environment["AWS_CREDENTIAL_EXPIRATION"] == "2026-11-18T11:06:40Z")
        #expect(
            environment["AWS_REGION"] == "ap-south-1" && environment["AWS_DEFAULT_REGION"] == "ap-south-1")
        #expect(environment["AWS_VAULT"] == "doug")
    }

    @Test func jsonStringEscapes() {
        #expect(jsonString("a\"b\\c\nd\u{1}") == #""a\"b\\c\nd\u0001""#)
    }

    @Test func iso8601RoundTrips() {
        let date = Date(timeIntervalSince1970: 1_795_000_000)
        #expect(parseISO8601(iso8601(date)) == date)
        #expect(parseISO8601("2026-11-18T11:06:40.123456Z") == date)
        #expect(parseISO8601("2026-11-19 08:26") == nil)
    }
}

@Suite struct KeyValidationTests {
    @Test func acceptsARealShapedKey() throws {
        let key = try validateKeyPair(
            accessKeyId: " AKIAIOSFODNN7EXAMPLE\n",
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n")
        #expect(key.accessKeyId == "AKIAIOSFODNN7EXAMPLE")
        #expect(key.secretAccessKey.count == 40)
    }

    @Test(arguments: [
        ("AKIA123", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("akiaiosfodnn7example", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        ("AKIAIOSFODNN7EXAMPLE", "too short"),
        ("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE!"),
        ("ASIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    ])
    func refusesMalformed(id: String, secret: String) {
        #expect(throws: LatchkeyError.self) { try validateKeyPair(accessKeyId: id, secretAccessKey: secret) }
    }

    @Test func errorsNeverShowTheSecret() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE!"
        do {
            _ = try validateKeyPair(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: secret)
            Issue.record("accepted a malformed secret")
        } catch {
            #expect(!"\(error)".contains("wJalrXUtnFEMI"))
        }
    }
}

@Suite struct IAMWorkflowTests {
    struct Denied: Error, Equatable {
        let action: String
        let code: String
    }
    struct Workflow: IAMWorkflow {
        func permissionDenied(action: String, code: String) -> any Error {
            Denied(action: action, code: code)
        }
    }

    static func serviceError(_ code: String) -> AWSClientError {
        .service(
            AWSServiceError(service: "iam", operation: "GetUser", httpStatus: 403, code: code, message: "no"))
    }

    @Test(arguments: ["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"])
    func deniedCallsNameTheAction(code: String) async {
        await #expect(throws: Denied(action: "iam:GetUser", code: code)) {
            try await Workflow().call("GetUser") { () async throws -> Int in throw Self.serviceError(code) }
        }
    }

    @Test func otherErrorsPassThrough() async throws {
        let error = await #expect(throws: AWSClientError.self) {
            try await Workflow().call("GetUser") { () async throws -> Int in
                throw Self.serviceError("NoSuchEntity")
            }
        }
        #expect(error?.serviceError == Self.serviceError("NoSuchEntity").serviceError)
        #expect(try await Workflow().call("GetUser") { 7 } == 7)
    }
}
