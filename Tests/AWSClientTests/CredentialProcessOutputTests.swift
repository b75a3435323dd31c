import AWSClient
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@Suite("credential_process output")
struct CredentialProcessOutputTests {
    @Test func readsACompleteOutput() throws {
        let output = try CredentialProcessOutput.parse(
            Data(
                (#"{"Version": 1, "AccessKeyId": "ASIAX", "SecretAccessKey": "S", "SessionToken": "T", "#
                    + #""Expiration": "2023-11-15T04:13:20Z", "AccountId": "123456789012", "Extra": [1]}"#)
                    .utf8),
            now: fixedNow)
        #expect(
            output
                == CredentialProcessOutput(
                    credentials: AWSCredentials(
                        accessKeyId: "ASIAX", secretAccessKey: "S", sessionToken: "T",
                        expiration: Date(timeIntervalSince1970: 1_700_021_600)),
                    accountId: "123456789012"))
        let longTerm = try CredentialProcessOutput.parse(
            Data(#"{"Version":1,"AccessKeyId":"AKIAX","SecretAccessKey":"S"}"#.utf8))
        #expect(longTerm.credentials == AWSCredentials(accessKeyId: "AKIAX", secretAccessKey: "S"))
        #expect(longTerm.accountId == nil)
    }

    @Test(arguments: [
        ("invalid json", CredentialProcessOutputError.Kind.notJSON),
        ("[1]", .notAnObject),
        (#"{"AccessKeyId":"A","SecretAccessKey":"secret-value"}"#, .unsupportedVersion),
        (#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"secret-value"}"#, .unsupportedVersion),
        (#"{"Version":"1","AccessKeyId":"A","SecretAccessKey":"secret-value"}"#, .unsupportedVersion),
        (#"{"Version":true,"AccessKeyId":"A","SecretAccessKey":"secret-value"}"#, .unsupportedVersion),
        (#"{"Version":1,"SecretAccessKey":"secret-value"}"#, .missingField("AccessKeyId")),
        (#"{"Version":1,"AccessKeyId":"","SecretAccessKey":"secret-value"}"#, .missingField("AccessKeyId")),
        (#"{"Version":1,"AccessKeyId":"A"}"#, .missingField("SecretAccessKey")),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":7}"#,
            .wrongType(field: "SecretAccessKey", expected: "a string")
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"secret-value","SessionToken":["t"]}"#,
            .wrongType(field: "SessionToken", expected: "a string")
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"secret-value","Expiration":"next week"}"#,
            .invalidExpiration
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"secret-value","Expiration":"2023-11-14T22:13:20Z"}"#,
            .expired(Date(timeIntervalSince1970: 1_700_000_000))
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"secret-value","AccountId":"12345"}"#,
            .invalidAccountId
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"secret-value","AccountId":123456789012}"#,
            .wrongType(field: "AccountId", expected: "a string")
        ),
    ])
    func invalidOutputsAreNamed(json: String, kind: CredentialProcessOutputError.Kind) {
        do {
            _ = try CredentialProcessOutput.parse(Data(json.utf8), now: fixedNow)
            Issue.record("expected \(kind)")
        } catch {
            #expect(error.kind == kind)
            #expect(error.description.hasPrefix("The credential_process output "))
            #expect(!error.description.contains("secret-value"))
        }
    }

    /// The conformance cases print their JSON with `echo BASE64 | base64 --decode`; decode it here
    /// rather than run a shell (running the command is the core's job).
    @Test(arguments: [
        "credential_process", "credential_process_account_id_fallback", "credential_process_invalid",
    ])
    func conformanceOutputs(name: String) throws {
        let directory = ConformanceData.directory.appendingPathComponent(
            "credential-provider-tests/profile-provider/\(name)")
        let config = try String(
            contentsOf: directory.appendingPathComponent("fs/home/.aws/config"), encoding: .utf8)
        let line = try #require(config.split(separator: "\n").first { $0.hasPrefix("credential_process") })
        let command = line.split(separator: "=", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
        let output: Data
        if command.hasPrefix("echo '") {
            output = Data((command.dropFirst(6).prefix { $0 != "'" } + "\n").utf8)
        } else {
            let base64 = try #require(command.split(separator: " ").dropFirst().first)
            output = try #require(Data(base64Encoded: String(base64)))
        }
        let testCase = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: directory.appendingPathComponent("test-case.json")))
                as? [String: Any])
        let result = try #require(testCase["result"] as? [String: Any])
        if let ok = result["Ok"] as? [String: Any] {
            let parsed = try CredentialProcessOutput.parse(output)
            #expect(parsed.credentials.accessKeyId == ok["access_key_id"] as? String)
            #expect(parsed.credentials.secretAccessKey == ok["secret_access_key"] as? String)
            #expect(parsed.credentials.sessionToken == ok["session_token"] as? String)
            #expect(parsed.credentials.expiration?.timeIntervalSince1970 == ok["expiry"] as? Double)
            // The fallback case has no AccountId: the core takes the profile's aws_account_id then.
            if name == "credential_process" { #expect(parsed.accountId == ok["account_id"] as? String) }
            if name == "credential_process_account_id_fallback" { #expect(parsed.accountId == nil) }
        } else {
            #expect(throws: CredentialProcessOutputError(.notJSON)) {
                _ = try CredentialProcessOutput.parse(output)
            }
        }
    }
}
