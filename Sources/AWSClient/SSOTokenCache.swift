import AWSSigV4
import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// An IAM Identity Center access token as the AWS CLI caches it in `~/.aws/sso/cache/<sha1>.json`.
public struct SSOToken: Sendable, Equatable, Codable, CustomStringConvertible {
    public var accessToken: String
    public var expiresAt: Date
    public var startUrl: String?
    public var region: String?
    public var refreshToken: String?
    public var clientId: String?
    public var clientSecret: String?
    public var registrationExpiresAt: Date?

    public init(
        accessToken: String, expiresAt: Date, startUrl: String? = nil, region: String? = nil,
        refreshToken: String? = nil, clientId: String? = nil, clientSecret: String? = nil,
        registrationExpiresAt: Date? = nil
    ) {
        self.accessToken = accessToken
        self.expiresAt = expiresAt
        self.startUrl = startUrl
        self.region = region
        self.refreshToken = refreshToken
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.registrationExpiresAt = registrationExpiresAt
    }

    /// The AWS SDKs refresh a token in its last 15 minutes (when a refresh token and client allow it).
    public static let refreshWindow: TimeInterval = 15 * 60

    public func isExpired(at now: Date) -> Bool { now >= expiresAt }

    public func needsRefresh(at now: Date, window: TimeInterval = SSOToken.refreshWindow) -> Bool {
        now.addingTimeInterval(window) >= expiresAt
    }

    /// True when the refresh token can still be used: present, with a client registration that has not expired.
    public func canRefresh(at now: Date) -> Bool {
        guard refreshToken != nil, clientId != nil, clientSecret != nil else { return false }
        return registrationExpiresAt.map { now < $0 } ?? true
    }

    public var description: String {
        "SSOToken(\(mask(accessToken)), expires \(Timestamps.iso8601String(expiresAt)), "
            + "start URL \(startUrl ?? "unknown"), refresh token: \(refreshToken == nil ? "no" : "yes"))"
    }

    private enum CodingKeys: String, CodingKey {
        case accessToken, expiresAt, startUrl, region, refreshToken, clientId, clientSecret,
            registrationExpiresAt
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func date(_ key: CodingKeys) throws -> Date? {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let date = Timestamps.iso8601(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "not an RFC 3339 timestamp")
            }
            return date
        }
        accessToken = try container.decode(String.self, forKey: .accessToken)
        guard let expiresAt = try date(.expiresAt) else {
            throw DecodingError.keyNotFound(
                CodingKeys.expiresAt, .init(codingPath: [], debugDescription: "expiresAt is required"))
        }
        self.expiresAt = expiresAt
        startUrl = try container.decodeIfPresent(String.self, forKey: .startUrl)
        region = try container.decodeIfPresent(String.self, forKey: .region)
        refreshToken = try container.decodeIfPresent(String.self, forKey: .refreshToken)
        clientId = try container.decodeIfPresent(String.self, forKey: .clientId)
        clientSecret = try container.decodeIfPresent(String.self, forKey: .clientSecret)
        registrationExpiresAt = try date(.registrationExpiresAt)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(accessToken, forKey: .accessToken)
        try container.encode(Timestamps.iso8601String(expiresAt), forKey: .expiresAt)
        try container.encodeIfPresent(startUrl, forKey: .startUrl)
        try container.encodeIfPresent(region, forKey: .region)
        try container.encodeIfPresent(refreshToken, forKey: .refreshToken)
        try container.encodeIfPresent(clientId, forKey: .clientId)
        try container.encodeIfPresent(clientSecret, forKey: .clientSecret)
        try container.encodeIfPresent(
            registrationExpiresAt.map(Timestamps.iso8601String), forKey: .registrationExpiresAt)
    }
}

public struct SSOTokenCacheError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case unreadable
        case malformed
        case unwritable
    }

    public var kind: Kind
    public var path: String
    public var reason: String

    public var description: String {
        switch kind {
        case .unreadable:
            "The SSO token cache file \(path) cannot be read (\(reason)); check its permissions or sign in again."
        case .malformed:
            "The SSO token cache file \(path) is not a valid token (\(reason)); delete it and sign in again."
        case .unwritable:
            "The SSO token cache file \(path) cannot be written (\(reason)); check that ~/.aws/sso/cache is writable."
        }
    }
}

/// The AWS CLI's SSO token cache, shared with `aws sso login` and the SDKs.
public struct SSOTokenCache: Sendable {
    /// Which name a token is cached under.
    public enum Key: Sendable, Equatable {
        /// `sso_session = NAME` profiles: the file is the SHA-1 of the session name.
        case session(String)
        /// Legacy profiles with `sso_start_url`: the file is the SHA-1 of the start URL.
        case startURL(String)
    }

    public var directory: URL

    public init(directory: URL) {
        self.directory = directory
    }

    /// `HOME/.aws/sso/cache`.
    public init(home: URL) {
        directory = home.appendingPathComponent(".aws/sso/cache", isDirectory: true)
    }

    /// `<sha1 hex>.json`, exactly as botocore and the other SDKs name it.
    public static func fileName(for key: Key) -> String {
        switch key {
        case .session(let name): sha1Hex(name) + ".json"
        case .startURL(let url): sha1Hex(url) + ".json"
        }
    }

    public func fileURL(for key: Key) -> URL {
        directory.appendingPathComponent(Self.fileName(for: key))
    }

    /// The cached token, or nil when there is no file (not signed in).
    public func read(_ key: Key) throws(SSOTokenCacheError) -> SSOToken? {
        let url = fileURL(for: key)
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch let error as CocoaError where error.code == .fileReadNoSuchFile {
            return nil
        } catch {
            if !FileManager.default.fileExists(atPath: url.path) { return nil }
            throw SSOTokenCacheError(kind: .unreadable, path: url.path, reason: "\(type(of: error))")
        }
        do {
            return try JSONDecoder().decode(SSOToken.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw SSOTokenCacheError(
                kind: .malformed, path: url.path, reason: "\(key.stringValue) is missing")
        } catch DecodingError.typeMismatch(_, let context) {
            throw SSOTokenCacheError(
                kind: .malformed, path: url.path, reason: "\(Self.field(context)) has the wrong type")
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw SSOTokenCacheError(
                kind: .malformed, path: url.path,
                reason: "\(Self.field(context)) is not an RFC 3339 timestamp")
        } catch {
            throw SSOTokenCacheError(kind: .malformed, path: url.path, reason: "not a JSON object")
        }
    }

    /// Writes the token as a 0600 file in a 0700 folder, replacing any old one atomically.
    public func write(_ token: SSOToken, for key: Key) throws(SSOTokenCacheError) {
        let url = fileURL(for: key)
        func failure(_ reason: String) -> SSOTokenCacheError {
            SSOTokenCacheError(kind: .unwritable, path: url.path, reason: reason)
        }
        let data: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            data = try encoder.encode(token)
            try FileManager.default.createDirectory(
                at: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw failure("the folder cannot be created")
        }
        do throws(FileOperationError) {
            try PrivateFile.write(data, to: url.path)
        } catch {
            throw failure(String(cString: strerror(error.errno)))
        }
    }

    /// Deletes the cached token (logout); a missing file is fine.
    public func remove(_ key: Key) throws(SSOTokenCacheError) {
        let url = fileURL(for: key)
        guard unlink(url.path) == 0 || errno == ENOENT else {
            throw SSOTokenCacheError(
                kind: .unwritable, path: url.path, reason: String(cString: strerror(errno)))
        }
    }

    private static func field(_ context: DecodingError.Context) -> String {
        context.codingPath.map(\.stringValue).joined(separator: "/")
    }
}

/// SHA-1 only names the AWS CLI's cache files as the CLI does; it protects nothing.
private func sha1Hex(_ text: String) -> String {
    hexEncoded(Insecure.SHA1.hash(data: Data(text.utf8)))
}
