import AWSSigV4
import Crypto
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// A console sign-in session (`aws login`'s `login_session`): the current 15-minute credentials and
/// what it takes to refresh them (refresh token, DPoP key, client id) for up to 12 hours.
///
/// `description` never shows the secret key, session token, refresh token or private key.
public struct LoginSession: Sendable, Equatable, CustomStringConvertible {
    /// The current temporary credentials; `expiration` is always set.
    public var credentials: AWSCredentials
    public var refreshToken: String
    public var dpopKey: DPoPKey
    public var clientId: String
    /// The signed-in identity's ARN (the ID token's `sub`): a profile's `login_session` value.
    public var identityArn: String
    public var accountId: String
    /// The Sign-In region the session was created in (refreshes go there).
    public var region: String
    /// When the browser sign-in happened: the 12-hour limit counts from here.
    public var issuedAt: Date
    public var idToken: String?

    /// Refresh when this little validity is left (botocore, the Rust and JS SDKs: 5 minutes).
    public static let refreshWindow: TimeInterval = 5 * 60
    /// How long the service keeps refreshing one sign-in.
    public static let maximumLifetime: TimeInterval = 12 * 3600

    public init(
        credentials: AWSCredentials, refreshToken: String, dpopKey: DPoPKey, clientId: String,
        identityArn: String, accountId: String? = nil, region: String, issuedAt: Date, idToken: String? = nil
    ) {
        self.credentials = credentials
        self.refreshToken = refreshToken
        self.dpopKey = dpopKey
        self.clientId = clientId
        self.identityArn = identityArn
        self.accountId = accountId ?? Self.account(of: identityArn) ?? ""
        self.region = region
        self.issuedAt = issuedAt
        self.idToken = idToken
    }

    /// A session from the authorization-code exchange: identity and issue time from the ID token.
    public init(
        token: SigninOAuthToken, authorization: SigninAuthorization, dpopKey: DPoPKey, region: String,
        now: Date
    ) throws(LoginSessionError) {
        guard let idToken = token.idToken, let claims = Self.claims(ofIDToken: idToken),
            let subject = claims["sub"]?.string, !subject.isEmpty
        else { throw .missingIdentity }
        self.init(
            credentials: token.credentials, refreshToken: token.refreshToken, dpopKey: dpopKey,
            clientId: authorization.client.clientId, identityArn: subject, region: region, issuedAt: now,
            idToken: idToken)
    }

    public var expiration: Date { credentials.expiration ?? issuedAt }

    /// When refreshing stops working: 12 hours after the browser sign-in.
    public var sessionExpiry: Date { issuedAt.addingTimeInterval(Self.maximumLifetime) }

    /// True when 5 minutes or less of the credentials' validity remain (or they have expired).
    public func needsRefresh(at now: Date) -> Bool {
        expiration.timeIntervalSince(now) <= Self.refreshWindow
    }

    /// True once the 12-hour limit has passed: only a new browser sign-in helps.
    public func hasReachedSessionLimit(at now: Date) -> Bool { now >= sessionExpiry }

    /// The user (or role session) name at the end of the identity ARN.
    public var userName: String? {
        guard
            let resource = identityArn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
                .dropFirst(5).first,
            let name = resource.split(separator: "/").last, resource.contains("/")
        else { return nil }
        return String(name)
    }

    /// The same session with a refresh answer's credentials and rotated refresh token.
    public func refreshed(with token: SigninOAuthToken) -> LoginSession {
        var copy = self
        copy.credentials = token.credentials
        copy.refreshToken = token.refreshToken
        return copy
    }

    public var description: String {
        "LoginSession(\(identityArn), \(credentials), refresh token: \(mask(refreshToken)), "
            + "\(dpopKey), client \(clientId), region \(region), signed in "
            + "\(Timestamps.iso8601String(issuedAt)), refreshable until \(Timestamps.iso8601String(sessionExpiry)))"
    }

    static func account(of arn: String) -> String? {
        let parts = arn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts[4].count == 12, parts[4].allSatisfy(\.isNumber) else { return nil }
        return String(parts[4])
    }

    /// The ID token's claims, read without verifying its signature (as the AWS CLI does).
    static func claims(ofIDToken token: String) -> [String: JSONValue]? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(String(parts[1])) else { return nil }
        return JSONValue(parsing: payload)?.object
    }
}

public enum LoginSessionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The token exchange answered without a usable ID token (its `sub` names the session).
    case missingIdentity
    /// A stored session or cache file that cannot be read; `reason` names the field, never a value.
    case malformed(source: String, reason: String)

    public var description: String {
        switch self {
        case .missingIdentity:
            "AWS Sign-In answered without an ID token naming the signed-in identity; sign in again."
        case .malformed(let source, let reason):
            "The \(source) cannot be read: \(reason); sign in again to replace it."
        }
    }
}

// MARK: - One keyring item

extension LoginSession {
    private struct KeyringItem: Codable {
        var version: Int
        var accessKeyId: String
        var secretAccessKey: String
        var sessionToken: String
        var expiration: String
        var refreshToken: String
        var dpopKey: String
        var clientId: String
        var identityArn: String
        var accountId: String
        var region: String
        var issuedAt: String
        var idToken: String?
    }

    static let keyringSource = "stored sign-in session"

    /// The whole session as one JSON keyring item (the key as SEC1 PEM, times as RFC 3339 UTC).
    public func keyringData() throws -> Data {
        let item = KeyringItem(
            version: 1, accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey,
            sessionToken: credentials.sessionToken ?? "", expiration: Timestamps.iso8601String(expiration),
            refreshToken: refreshToken, dpopKey: dpopKey.sec1PEM, clientId: clientId,
            identityArn: identityArn,
            accountId: accountId, region: region, issuedAt: Timestamps.iso8601String(issuedAt),
            idToken: idToken)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(item)
    }

    public init(keyringData data: Data) throws(LoginSessionError) {
        func malformed(_ reason: String) -> LoginSessionError {
            .malformed(source: Self.keyringSource, reason: reason)
        }
        let item: KeyringItem
        do {
            item = try JSONDecoder().decode(KeyringItem.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw malformed("the field \(key.stringValue) is missing")
        } catch {
            throw malformed("it is not a latchkey sign-in session (JSON)")
        }
        guard item.version == 1 else { throw malformed("unknown version \(item.version)") }
        guard let expiration = Timestamps.iso8601(item.expiration) else { throw malformed("bad expiration") }
        guard let issuedAt = Timestamps.iso8601(item.issuedAt) else { throw malformed("bad issuedAt") }
        let key: DPoPKey
        do { key = try DPoPKey(pem: item.dpopKey) } catch { throw malformed("bad dpopKey") }
        self.init(
            credentials: AWSCredentials(
                accessKeyId: item.accessKeyId, secretAccessKey: item.secretAccessKey,
                sessionToken: item.sessionToken, expiration: expiration),
            refreshToken: item.refreshToken, dpopKey: key, clientId: item.clientId,
            identityArn: item.identityArn,
            accountId: item.accountId, region: item.region, issuedAt: issuedAt, idToken: item.idToken)
    }
}

// MARK: - The AWS CLI's login cache file

extension LoginSession {
    static let cacheSource = "AWS CLI login cache file"

    /// `<lowercase hex SHA-256 of the login_session value>.json` in `~/.aws/login/cache`
    /// (or `$AWS_LOGIN_CACHE_DIRECTORY`).
    public static func cacheFileName(loginSession: String) -> String {
        let value = loginSession.trimmingWhitespace()
        return hexEncoded(SHA256.hash(data: Data(value.utf8))) + ".json"
    }

    /// The cache file `aws login` writes (and botocore rewrites on refresh). When `existing` is the
    /// file's current content, members latchkey does not know are kept, as botocore keeps them.
    public func cacheFileData(updating existing: Data? = nil) throws -> Data {
        var object = existing.flatMap { JSONValue(parsing: $0)?.object } ?? [:]
        object["accessToken"] = [
            "accessKeyId": .string(credentials.accessKeyId),
            "secretAccessKey": .string(credentials.secretAccessKey),
            "sessionToken": .string(credentials.sessionToken ?? ""), "accountId": .string(accountId),
            "expiresAt": .string(Timestamps.iso8601String(expiration)),
        ]
        object["tokenType"] = "aws_sigv4"
        object["clientId"] = .string(clientId)
        object["refreshToken"] = .string(refreshToken)
        if let idToken { object["idToken"] = .string(idToken) }
        object["dpopKey"] = .string(dpopKey.sec1PEM)
        return try JSONValue.object(object).encoded(prettyPrinted: true, escapingSlashes: false)
    }

    /// Reads a cache file. The file holds no issue time: the ID token's `iat` is used when present,
    /// else `signedInAt` (callers pass what they know, e.g. the file's modification time). The region
    /// is the file's `signInRegion` (botocore 1.44) when present, else `region`.
    public init(cacheFile data: Data, loginSession: String, region: String, signedInAt: Date)
        throws(LoginSessionError)
    {
        func malformed(_ reason: String) -> LoginSessionError {
            .malformed(source: Self.cacheSource, reason: reason)
        }
        guard let object = JSONValue(parsing: data)?.object else {
            throw malformed("it is not a JSON object")
        }
        func string(_ value: JSONValue?, _ name: String) throws(LoginSessionError) -> String {
            guard let text = value?.string, !text.isEmpty else {
                throw malformed("the field \(name) is missing")
            }
            return text
        }
        guard let access = object["accessToken"]?.object else {
            throw malformed("the field accessToken is missing")
        }
        let expiresText = try string(access["expiresAt"], "accessToken.expiresAt")
        guard let expiresAt = Timestamps.iso8601(expiresText) else {
            throw malformed("the field accessToken.expiresAt is not an RFC 3339 time")
        }
        let key: DPoPKey
        do { key = try DPoPKey(pem: try string(object["dpopKey"], "dpopKey")) } catch let error
            as LoginSessionError
        {
            throw error
        } catch {
            throw malformed("the field dpopKey is not a P-256 private key in PEM")
        }
        // Go and Java SDKs write the ID token as `identityToken`.
        let idToken = (object["idToken"]?.string ?? object["identityToken"]?.string).flatMap {
            $0.isEmpty ? nil : $0
        }
        let issuedAt =
            idToken.flatMap { Self.claims(ofIDToken: $0)?["iat"]?.double }
            .map { Date(timeIntervalSince1970: $0) } ?? signedInAt
        let identity = loginSession.trimmingWhitespace()
        self.init(
            credentials: AWSCredentials(
                accessKeyId: try string(access["accessKeyId"], "accessToken.accessKeyId"),
                secretAccessKey: try string(access["secretAccessKey"], "accessToken.secretAccessKey"),
                sessionToken: try string(access["sessionToken"], "accessToken.sessionToken"),
                expiration: expiresAt),
            refreshToken: try string(object["refreshToken"], "refreshToken"), dpopKey: key,
            clientId: try string(object["clientId"], "clientId"), identityArn: identity,
            accountId: access["accountId"]?.string ?? Self.account(of: identity),
            region: object["signInRegion"]?.string.flatMap { $0.isEmpty ? nil : $0 } ?? region,
            issuedAt: issuedAt, idToken: idToken)
    }
}
