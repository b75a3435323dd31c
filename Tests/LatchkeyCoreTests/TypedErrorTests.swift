import AWSClient
import AWSConfig
import AWSSigV4
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// Failures keep their cause as a value (not a string), so a caller can tell a refused call from
/// an unreachable endpoint, and the message still reads as one sentence.
@Suite struct TypedErrorTests {
    func context(_ transport: any HTTPTransport, runner: ScriptedProcessRunner) throws -> CoreContext {
        CoreContext(
            environment: [:], settings: try LatchkeySettings(environment: ["HOME": "/nonexistent"]),
            store: CredentialStore(keyring: InMemoryKeyring()), transport: transport,
            mfa: MFACodeSource(prompt: nil, processRunner: runner, environment: [:]))
    }

    func plan(_ config: String, _ profile: String) throws -> CredentialPlan {
        try ProfileResolver(
            config: try AWSSharedConfig.parse(configText: config, credentialsText: nil), environment: [:],
            configFile: "config"
        ).plan(for: CredentialRequest(profile: profile, noSession: true))
    }

    @Test func aRefusedSTSCallCarriesTheServiceErrorAndAdvice() async throws {
        let transport = ScriptedTransport([
            .xml(
                "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>nope</Message>"
                    + "</Error><RequestId>1</RequestId></ErrorResponse>", status: 403)
        ])
        let config = """
            [profile keys]
            aws_access_key_id = AKIAIOSFODNN7EXAMPLE
            aws_secret_access_key = secret
            [profile role]
            source_profile = keys
            role_arn = arn:aws:iam::111122223333:role/r
            """
        do {
            _ = try await CredentialService(
                context: try context(transport, runner: ScriptedProcessRunner(output: ""))
            )
            .credentials(for: try plan(config, "role"))
            Issue.record("the call should fail")
        } catch LatchkeyError.awsCallFailed(let operation, _, let cause, let advice) {
            #expect(operation == "AssumeRole")
            #expect((cause as? AWSClientError)?.serviceError?.code == "InvalidClientTokenId")
            #expect(advice.contains("latchkey add keys"))
        }
    }

    @Test func aFailingMFAProcessKeepsTheProgramsError() async throws {
        struct Exited: Error, CustomStringConvertible { var description: String { "exit status 2" } }
        let source = MFACodeSource(
            prompt: nil, processRunner: ScriptedProcessRunner(failure: Exited()), environment: [:])
        do {
            _ = try await source.code(
                profile: "doug", serial: "arn:aws:iam::111122223333:mfa/doug", mfaProcess: "gen", flag: nil)
            Issue.record("the program should fail")
        } catch let error as LatchkeyError {
            guard case .mfaProcessFailed("gen", let cause) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(cause is Exited)
            #expect(
                "\(error)"
                    == "mfa_process `gen` failed: exit status 2; run it by hand to check it prints a 6-digit code."
            )
        }
    }

    @Test func aYubiKeyStepThatCannotStartKeepsTheSubprocessFailure() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "latchkey-yk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let script = folder.appendingPathComponent("ykman")
        try writeExecutableScript("#!/bin/sh\nexit 4\n", to: script.path)
        var yubiKey = try YubiKeyOATH(environment: ["PATH": folder.path])
        #expect(throws: YubiKeyError.failed(step: "read a code", reason: .exitStatus(4))) {
            try yubiKey.code(name: "AWS doug")
        }
        yubiKey.executable = "/nonexistent/ykman"
        let error = #expect(throws: YubiKeyError.self) { try yubiKey.code(name: "AWS doug") }
        guard case .failed("read a code", .couldNotStart(let failure)) = error else {
            Issue.record("expected couldNotStart, got \(String(describing: error))")
            return
        }
        #expect("\(String(describing: error))".contains("(it could not start: \(failure))"))
    }

    @Test func aFailingCredentialProcessCarriesTheProgramsError() async throws {
        struct Exited: Error, CustomStringConvertible { var description: String { "exit status 3" } }
        let config = "[profile proc]\ncredential_process = /usr/local/bin/creds --profile x\n"
        do {
            _ = try await CredentialService(
                context: try context(ScriptedTransport(), runner: ScriptedProcessRunner(failure: Exited()))
            ).credentials(for: try plan(config, "proc"))
            Issue.record("the program should fail")
        } catch let error as LatchkeyError {
            guard case .sourceFailed(_, _, let cause, _) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect((cause as? CredentialProcessProvider.ProgramFailed)?.cause is Exited)
            #expect("\(error)".contains("it failed: exit status 3. Run it by hand to see why."))
        }
    }
}
