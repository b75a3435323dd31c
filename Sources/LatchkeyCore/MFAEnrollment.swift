import AWSClient
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// What `latchkey mfa enroll` can fail at, each saying what state AWS is left in and what to do.
public enum MFAEnrollmentError: Error, CustomStringConvertible, Sendable {
    /// `enabledSerial` is the device's serial when it is already enabled for this very user.
    case deviceNameTaken(name: String, profile: String, enabledSerial: String?)
    case permissionDenied(action: String, profile: String, detail: String)
    case codesRejected(serial: String, deviceDeleted: Bool)
    case malformedCode(source: String)
    case sameCodeTwice
    case failedAfterCreate(operation: String, serial: String, deviceDeleted: Bool, cause: AfterCreateFailure)

    /// Why a call failed once the device existed; keeps the call's own error.
    public enum AfterCreateFailure: Error, CustomStringConvertible, Sendable {
        /// IAM refused the key's own user the call (the error is IAM's answer).
        case notAllowed(action: String, any Error)
        /// Any other failure of the call.
        case failed(any Error)

        public var description: String {
            switch self {
            case .notAllowed(let action, _):
                "the key may not call \(action) on its own user; ask an administrator to allow it"
            case .failed(let cause): "\(cause)"
            }
        }
    }

    public var description: String {
        switch self {
        case .deviceNameTaken(let name, let profile, let enabledSerial):
            if let enabledSerial {
                return "an MFA device named '\(name)' (\(enabledSerial)) is already enabled for this user; "
                    + "remove it first with `latchkey mfa remove \(profile)`, or choose another name with --device-name."
            }
            return "a virtual MFA device named '\(name)' exists but is not enabled (another enrolment is "
                + "in progress, or an earlier one was interrupted); if none is running, delete it with "
                + "`latchkey mfa remove \(profile) --serial ARN` (see `latchkey mfa list \(profile)`), "
                + "or choose another name with --device-name."
        case .permissionDenied(let action, let profile, let detail):
            return "the key of profile '\(profile)' is not allowed to call \(action) (\(detail)); "
                + "ask an administrator to allow \(action) for this user (`latchkey policy show` has the "
                + "self-service statements), then run the command again."
        case .codesRejected(let serial, let deleted):
            return "AWS rejected the two codes for \(serial)"
                + (deleted ? " and the unfinished device was deleted" : "")
                + "; check that the authenticator's clock is right, then enrol again with two consecutive codes."
        case .malformedCode(let source):
            return "the code from \(source) is not six digits; type the six digits the authenticator shows."
        case .sameCodeTwice:
            return "the two codes are the same; wait until the authenticator shows the next code "
                + "(up to 30 seconds) and type that one as the second."
        case .failedAfterCreate(let operation, let serial, let deleted, let cause):
            return "\(operation) failed (\(cause)); "
                + (deleted
                    ? "the unfinished device \(serial) was deleted, nothing is left behind. "
                    : "the unfinished device \(serial) could not be deleted: remove it with `latchkey mfa remove --serial`. ")
                + "Fix the cause and run the command again."
        }
    }
}

/// A device created in AWS and waiting for its two codes.
public struct PendingEnrollment: Sendable {
    public var user: IAMUser
    public var accountId: String
    public var device: VirtualMFADevice

    /// The otpauth URI an authenticator app scans.
    public var otpauthURI: String {
        makeOTPAuthURI(issuer: "AWS", userName: user.userName, accountId: accountId, seed: device.base32Seed)
    }

    /// `AWS:user@account`: how the account shows in the authenticator and on a YubiKey.
    public var accountLabel: String { "AWS:\(user.userName)@\(accountId)" }
}

/// `otpauth://totp/ISSUER:USER@ACCOUNT?secret=SEED&issuer=ISSUER` (Key Uri Format), each part percent-encoded.
public func makeOTPAuthURI(issuer: String, userName: String, accountId: String, seed: String) -> String {
    func encode(_ text: String) -> String { text.percentEncoded() }
    return "otpauth://totp/\(encode(issuer)):\(encode(userName))@\(encode(accountId))"
        + "?secret=\(encode(seed))&issuer=\(encode(issuer))"
}

/// The account id in an ARN (`arn:PARTITION:SERVICE::ACCOUNT:...`).
public func accountId(fromARN arn: String) -> String? {
    let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count >= 6, parts[0] == "arn", !parts[4].isEmpty else { return nil }
    return String(parts[4])
}

/// Checks an MFA code's shape before anything is sent.
public func checkedEnrollmentCode(_ raw: String, source: String) throws -> String {
    let code = raw.trimmingBlanks()
    guard code.count == 6, code.allSatisfy({ $0.isASCII && $0.isNumber }) else {
        throw MFAEnrollmentError.malformedCode(source: source)
    }
    return code
}

/// Enrols a virtual MFA device for the IAM user who owns the key `iam` signs with.
public struct MFAEnrollment: IAMWorkflow, Sendable {
    public let iam: IAMClient
    public let profile: String

    public init(iam: IAMClient, profile: String) {
        self.iam = iam
        self.profile = profile
    }

    /// Finds the user and creates the device (named after the user unless `deviceName` is given:
    /// MFA-required boundaries let users manage only `mfa/${aws:username}`).
    public func start(deviceName: String?) async throws -> PendingEnrollment {
        let user = try await call("GetUser") { try await iam.getUser(userName: nil) }
        let name = deviceName ?? user.userName
        let device: VirtualMFADevice
        do {
            device = try await iam.createVirtualMFADevice(name: name)
        } catch let error as AWSClientError where error.serviceError?.code == "EntityAlreadyExists" {
            let enabled = (try? await iam.listMFADevices(userName: user.userName))?.first {
                $0.serialNumber.hasSuffix(":mfa/\(name)") || $0.serialNumber.hasSuffix("/\(name)")
            }
            throw MFAEnrollmentError.deviceNameTaken(
                name: name, profile: profile, enabledSerial: enabled?.serialNumber)
        } catch {
            throw translated(error, operation: "CreateVirtualMFADevice")
        }
        return PendingEnrollment(user: user, accountId: accountId(fromARN: user.arn) ?? "", device: device)
    }

    /// Enables the device with two consecutive codes. `codes(attempt)` is asked again (up to
    /// `attempts` times) when AWS rejects them; on any final failure the device is deleted.
    public func complete(
        _ pending: PendingEnrollment, attempts: Int = 1,
        codes: (_ attempt: Int) async throws -> (String, String)
    ) async throws {
        var attempt = 1
        while true {
            do {
                let (first, second) = try await codes(attempt)
                let code1 = try checkedEnrollmentCode(first, source: "the first code")
                let code2 = try checkedEnrollmentCode(second, source: "the second code")
                guard code1 != code2 else { throw MFAEnrollmentError.sameCodeTwice }
                try await iam.enableMFADevice(
                    userName: pending.user.userName, serialNumber: pending.device.serialNumber, code1: code1,
                    code2: code2)
                return
            } catch let error as AWSClientError where error.serviceError?.code == "InvalidAuthenticationCode"
            {
                if attempt < attempts {
                    attempt += 1
                    continue
                }
                let deleted = await abandon(pending)
                throw MFAEnrollmentError.codesRejected(
                    serial: pending.device.serialNumber, deviceDeleted: deleted)
            } catch let error as MFAEnrollmentError where attempt < attempts && error.isRetryableInput {
                attempt += 1
            } catch {
                let deleted = await abandon(pending)
                if let enrollmentError = error as? MFAEnrollmentError { throw enrollmentError }
                let denied = translated(error, operation: "EnableMFADevice") is MFAEnrollmentError
                throw MFAEnrollmentError.failedAfterCreate(
                    operation: "EnableMFADevice", serial: pending.device.serialNumber, deviceDeleted: deleted,
                    cause: denied ? .notAllowed(action: "iam:EnableMFADevice", error) : .failed(error))
            }
        }
    }

    /// Deletes the unfinished device; whether that worked.
    @discardableResult
    public func abandon(_ pending: PendingEnrollment) async -> Bool {
        do {
            try await iam.deleteVirtualMFADevice(serialNumber: pending.device.serialNumber)
            return true
        } catch {
            return false
        }
    }

    func permissionDenied(action: String, code: String) -> any Error {
        MFAEnrollmentError.permissionDenied(action: action, profile: profile, detail: code)
    }
}

extension MFAEnrollmentError {
    /// A typo the person can correct by typing again.
    var isRetryableInput: Bool {
        switch self {
        case .malformedCode, .sameCodeTwice: return true
        default: return false
        }
    }
}
