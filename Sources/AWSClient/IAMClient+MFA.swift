#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// A virtual MFA device just created: its serial (ARN) and the TOTP secret. The secret is
/// never part of `description`.
public struct VirtualMFADevice: Sendable, Equatable, CustomStringConvertible {
    public var serialNumber: String
    /// The Base32 TOTP secret (RFC 4648 alphabet, no padding).
    public var base32Seed: String

    public init(serialNumber: String, base32Seed: String) {
        self.serialNumber = serialNumber
        self.base32Seed = base32Seed
    }

    public var description: String { "VirtualMFADevice(\(serialNumber), seed ****)" }
}

/// An MFA device as ListMFADevices / ListVirtualMFADevices report it.
public struct MFADeviceInfo: Sendable, Equatable {
    public var serialNumber: String
    /// The user it is enabled for; nil for an unassigned virtual device.
    public var userName: String?
    public var enableDate: Date?

    public init(serialNumber: String, userName: String?, enableDate: Date?) {
        self.serialNumber = serialNumber
        self.userName = userName
        self.enableDate = enableDate
    }

    /// Whether the serial names a virtual device (`arn:...:mfa/NAME`) rather than a hardware token or passkey.
    public var isVirtual: Bool { serialNumber.hasPrefix("arn:") && serialNumber.contains(":mfa/") }
}

public enum VirtualMFAAssignment: String, Sendable {
    case assigned = "Assigned"
    case unassigned = "Unassigned"
    case any = "Any"
}

extension IAMClient {
    /// Creates a virtual MFA device; the caller must enable it with two codes or delete it.
    public func createVirtualMFADevice(name: String, path: String? = nil) async throws -> VirtualMFADevice {
        var parameters = [("VirtualMFADeviceName", name)]
        if let path { parameters.append(("Path", path)) }
        let result = try await client.call("CreateVirtualMFADevice", parameters)
        let read = ResultReader(service: "iam", operation: "CreateVirtualMFADevice")
        let serial = try read.string(result, "VirtualMFADevice", "SerialNumber")
        let blob = try read.string(result, "VirtualMFADevice", "Base32StringSeed")
        guard let seed = Self.base32Seed(fromBlob: blob) else {
            throw AWSClientError.invalidResponse(
                service: "iam", operation: "CreateVirtualMFADevice", httpStatus: 200,
                reason: "the field VirtualMFADevice/Base32StringSeed is not a Base32 secret")
        }
        return VirtualMFADevice(serialNumber: serial, base32Seed: seed)
    }

    /// `Base32StringSeed` is a blob, so the XML carries it base64-encoded; some doubles send the
    /// Base32 text itself. Either way the result is Base32 without padding.
    static func base32Seed(fromBlob text: String) -> String? {
        func base32(_ candidate: String) -> String? {
            let trimmed = String(candidate.uppercased().drop { $0 == " " }.prefix { $0 != "=" })
            let alphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
            guard trimmed.count >= 16, trimmed.allSatisfy({ alphabet.contains($0) }) else { return nil }
            return trimmed
        }
        if let data = Data(base64Encoded: text), let decoded = String(data: data, encoding: .ascii),
            let seed = base32(decoded.trimmingWhitespace())
        {
            return seed
        }
        return base32(text)
    }

    /// Enables a device for the user with two codes from consecutive 30-second steps.
    public func enableMFADevice(userName: String, serialNumber: String, code1: String, code2: String)
        async throws
    {
        _ = try await client.call(
            "EnableMFADevice",
            [
                ("UserName", userName), ("SerialNumber", serialNumber), ("AuthenticationCode1", code1),
                ("AuthenticationCode2", code2),
            ])
    }

    /// The MFA devices enabled for the user (the caller when nil), every page.
    public func listMFADevices(userName: String?) async throws -> [MFADeviceInfo] {
        try await pages("ListMFADevices", userName.map { [("UserName", $0)] } ?? [], list: "MFADevices") {
            member, read in
            MFADeviceInfo(
                serialNumber: try read.string(member, "SerialNumber"),
                userName: read.optionalString(member, "UserName"),
                enableDate: read.optionalString(member, "EnableDate").flatMap(Timestamps.iso8601))
        }
    }

    /// The account's virtual MFA devices with the given assignment status, every page.
    public func listVirtualMFADevices(assignment: VirtualMFAAssignment = .any) async throws -> [MFADeviceInfo]
    {
        try await pages(
            "ListVirtualMFADevices", [("AssignmentStatus", assignment.rawValue)], list: "VirtualMFADevices"
        ) { member, read in
            MFADeviceInfo(
                serialNumber: try read.string(member, "SerialNumber"),
                userName: read.optionalString(member, "User", "UserName"),
                enableDate: read.optionalString(member, "EnableDate").flatMap(Timestamps.iso8601))
        }
    }

    public func deactivateMFADevice(userName: String, serialNumber: String) async throws {
        _ = try await client.call(
            "DeactivateMFADevice", [("UserName", userName), ("SerialNumber", serialNumber)])
    }

    /// Deletes a virtual device; it must be deactivated first (`DeleteConflict` otherwise).
    public func deleteVirtualMFADevice(serialNumber: String) async throws {
        _ = try await client.call("DeleteVirtualMFADevice", [("SerialNumber", serialNumber)])
    }

    /// The most pages one listing follows; far more than any account has, but a bound all the same.
    static let maximumPages = 1000

    /// Follows `IsTruncated`/`Marker` and maps each `<member>` of the `list` element. A marker seen
    /// before, or more than `maximumPages` pages, is an error: such a server would loop forever.
    func pages<Item>(
        _ action: String, _ parameters: [(String, String)], list: String,
        _ transform: (XMLReader.Element, ResultReader) throws -> Item
    ) async throws -> [Item] {
        let read = ResultReader(service: "iam", operation: action)
        var items: [Item] = []
        var marker: String?
        var seenMarkers: Set<String> = []
        var pageCount = 0
        repeat {
            let result = try await client.call(action, parameters + (marker.map { [("Marker", $0)] } ?? []))
            for member in result.child(list)?.children ?? [] where member.name == "member" {
                items.append(try transform(member, read))
            }
            pageCount += 1
            let truncated = read.optionalString(result, "IsTruncated") == "true"
            marker = truncated ? read.optionalString(result, "Marker").flatMap { $0.isEmpty ? nil : $0 } : nil
            if let next = marker {
                guard seenMarkers.insert(next).inserted else {
                    throw Self.endlessListing(action, "a page marker came back a second time")
                }
                guard pageCount < Self.maximumPages else {
                    throw Self.endlessListing(action, "it goes on past \(Self.maximumPages) pages")
                }
            }
        } while marker != nil
        return items
    }

    private static func endlessListing(_ action: String, _ why: String) -> AWSClientError {
        .invalidResponse(
            service: "iam", operation: action, httpStatus: 200,
            reason: "the listing would never end (\(why))")
    }
}
