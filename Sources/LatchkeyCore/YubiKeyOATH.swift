#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
import Keyring

public enum YubiKeyError: Error, CustomStringConvertible, Sendable, Equatable {
    case ykmanMissing
    case failed(step: String, reason: Reason)

    /// Why a ykman step failed.
    public enum Reason: Error, CustomStringConvertible, Sendable, Equatable {
        /// ykman could not be run.
        case couldNotStart(Subprocess.Failure)
        /// ykman's last line on stderr.
        case ykmanSaid(String)
        /// ykman exited non-zero and said nothing.
        case exitStatus(Int32)

        public var description: String {
            switch self {
            case .couldNotStart(let failure): "it could not start: \(failure)"
            case .ykmanSaid(let message): message
            case .exitStatus(let status): "exit status \(status)"
            }
        }
    }

    public var description: String {
        switch self {
        case .ykmanMissing:
            return "ykman is not on PATH; install YubiKey Manager (`pip install yubikey-manager` or your "
                + "package manager's yubikey-manager), or enrol without --yubikey."
        case .failed(let step, let reason):
            return "ykman could not \(step) (\(reason)); check that the YubiKey is plugged in and "
                + "`ykman oath info` works, then run the command again."
        }
    }
}

/// The YubiKey's OATH application through `ykman`: the secret goes on stdin, never argv.
public struct YubiKeyOATH: Sendable {
    public var executable: String
    public var environment: [String: String]
    /// `ykman --device SERIAL` when several keys are plugged in.
    public var deviceSerial: String?

    public init(environment: [String: String], deviceSerial: String? = nil) throws {
        guard let path = try? resolveExecutable("ykman", environment: environment) else {
            throw YubiKeyError.ykmanMissing
        }
        executable = path
        self.environment = environment
        self.deviceSerial = deviceSerial
    }

    private var prefix: [String] { deviceSerial.map { ["--device", $0] } ?? [] }

    /// Fails early (before anything is created in AWS) when no YubiKey answers.
    public func checkPresent() throws {
        _ = try run(prefix + ["oath", "info"], input: nil, step: "reach the YubiKey's OATH application")
    }

    public func addTOTP(name: String, seed: String) throws {
        _ = try run(
            prefix + ["oath", "accounts", "add", "--oath-type", "TOTP", "--force", name], input: seed + "\n",
            step: "store the MFA secret on the YubiKey")
    }

    /// The current code of the account (`--single`: exactly one match or a failure).
    public func code(name: String) throws -> String {
        let output = try run(
            prefix + ["oath", "accounts", "code", "--single", name], input: nil, step: "read a code")
        return output.trimmingWhitespace()
    }

    private func run(_ arguments: [String], input: String?, step: String) throws -> String {
        let result: Subprocess.Output
        do {
            result = try Subprocess.run(
                executable, arguments, environment: environment, stdin: Data((input ?? "").utf8))
        } catch {
            throw YubiKeyError.failed(step: step, reason: .couldNotStart(error))
        }
        guard result.status == 0 else {
            let message = result.stderrText.split(separator: "\n").last.map(String.init)
            throw YubiKeyError.failed(
                step: step, reason: message.map { .ykmanSaid($0) } ?? .exitStatus(result.status))
        }
        return String(decoding: result.stdout, as: UTF8.self)
    }
}
