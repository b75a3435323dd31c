import AWSClient
import AWSConfig
import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// `mfa list` and `mfa remove`: the IAM user's MFA devices, with the stored key (and, to
/// deactivate under the MFA-required boundary, the profile's MFA session); the profile's
/// `mfa_serial` kept in step.
public enum MFADevices {
    public struct Listing: Sendable {
        /// Devices enabled for the user, as IAM lists them.
        public var devices: [MFADeviceInfo]
        /// The profile's `mfa_serial`, if any.
        public var configuredSerial: String?
    }

    /// The devices of the user the profile's stored key belongs to.
    public static func list(profile: String, region: String?, in workspace: Workspace) async throws -> Listing
    {
        let key = try await workspace.storedKey(profile: profile)
        let iam = try workspace.iamClient(credentials: key, profile: profile, region: region)
        let configured = try workspace.configuredMFASerial(profile: profile)
        return Listing(devices: try await iam.listMFADevices(userName: nil), configuredSerial: configured)
    }

    /// What `remove` did, in order.
    public enum RemovalStep: Sendable, Equatable {
        case deactivated(serial: String)
        case deleted(serial: String)
        case deletedNotEnabled(serial: String)
        case removedSerial(profile: String, configFile: String)
    }

    public enum RemovalError: Error, CustomStringConvertible, Equatable {
        case noDevice(user: String)
        case severalDevices(user: String, profile: String)
        case noSuchDevice(serial: String, profile: String)

        public var description: String {
            switch self {
            case .noDevice(let user): "user \(user) has no MFA device to remove."
            case .severalDevices(let user, let profile):
                "user \(user) has several MFA devices; name one with --serial (see `latchkey mfa list \(profile)`)."
            case .noSuchDevice(let serial, let profile):
                "there is no MFA device \(serial); see `latchkey mfa list \(profile)`."
            }
        }
    }

    /// Deactivates and deletes `serial` (default: the profile's `mfa_serial`, else the user's only
    /// device), drops the profile's sessions and removes `mfa_serial` when it named the device.
    /// `mfaSession` is asked for only when an enabled device is deactivated (it needs MFA under
    /// the boundary), before anything changes.
    public static func remove(
        profile: String, serial: String?, region: String?, in workspace: Workspace,
        mfaSession: () async throws -> AWSCredentials, report: (RemovalStep) -> Void
    ) async throws {
        let configured = try workspace.configuredMFASerial(profile: profile)
        let key = try await workspace.storedKey(profile: profile)
        let listing = try workspace.iamClient(credentials: key, profile: profile, region: region)
        let user = try await listing.getUser(userName: nil)
        let enabled = try await listing.listMFADevices(userName: nil)
        guard let target = serial ?? configured ?? (enabled.count == 1 ? enabled.first?.serialNumber : nil)
        else {
            throw enabled.isEmpty
                ? RemovalError.noDevice(user: user.userName)
                : RemovalError.severalDevices(user: user.userName, profile: profile)
        }
        if enabled.contains(where: { $0.serialNumber == target }) {
            let iam = try workspace.iamClient(
                credentials: try await mfaSession(), profile: profile, region: region)
            try await iam.deactivateMFADevice(userName: user.userName, serialNumber: target)
            report(.deactivated(serial: target))
            if MFADeviceInfo(serialNumber: target, userName: nil, enableDate: nil).isVirtual {
                try await iam.deleteVirtualMFADevice(serialNumber: target)
                report(.deleted(serial: target))
            }
        } else {
            do {
                try await listing.deleteVirtualMFADevice(serialNumber: target)
            } catch let error as AWSClientError where error.serviceError?.code == "NoSuchEntity" {
                throw RemovalError.noSuchDevice(serial: target, profile: profile)
            }
            report(.deletedNotEnabled(serial: target))
        }
        try await workspace.dropSessionsAfterDeviceChange(profile: profile)
        if configured == target,
            try ConfigFileEditor.removeProperty(
                "mfa_serial", profile: profile, inConfigAt: workspace.configFile)
        {
            report(.removedSerial(profile: profile, configFile: workspace.configFile))
        }
    }
}

extension Workspace {
    /// After an MFA device is added or removed, the profile's cached sessions are dropped. The
    /// device change stands either way: sessions made before it are only stale, so a failure warns
    /// (on the terminal) with the command that finishes the job.
    public func dropSessionsAfterDeviceChange(profile: String) async throws {
        let store = try openStore()
        do {
            try await store.removeSessions(profile: profile)
        } catch {
            world.terminal.say(
                "latchkey: warning: could not remove the cached sessions of '\(profile)' (\(error)); "
                    + "run `latchkey clear \(profile)`.\n")
        }
    }

    /// Points the profile at an enabled device (`mfa enroll`): `mfa_serial` in the config file.
    public func writeMFASerial(_ serial: String, profile: String) throws {
        try ConfigFileEditor.setProperty("mfa_serial", to: serial, profile: profile, inConfigAt: configFile)
    }
}
