#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// Which protocol a local credential server speaks.
public enum CredentialServerKind: String, Sendable, CaseIterable {
    /// The container credential provider (`AWS_CONTAINER_CREDENTIALS_FULL_URI`).
    case ecs
    /// The EC2 instance metadata service, IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`).
    case ec2
}

/// A running ECS or IMDSv2 server on 127.0.0.1, with what a client needs to find it.
public final class CredentialServer: Sendable {
    public let kind: CredentialServerKind
    public let port: UInt16
    /// The ECS server's authorization token (32 random bytes, hex); nil for IMDS.
    public let token: String?
    let server: EpollServer

    /// Binds and starts serving `feed` (already primed, or priming on the first request).
    public init(
        kind: CredentialServerKind, port: UInt16 = 0, feed: CredentialFeed, roles: RoleFeeds? = nil,
        roleName: String, region: String, threads: Int = defaultLoopCount()
    ) throws {
        self.kind = kind
        let limiter = FailureRateLimiter()
        let token = kind == .ecs ? randomHexToken() : nil
        // Bind first: the Host check needs the port.
        server = try EpollServer(port: port, threads: threads)
        self.port = server.port
        self.token = token
        switch kind {
        case .ecs:
            server.start(
                handler: ECSHandler(
                    token: token ?? "", port: server.port, feed: feed, roles: roles, limiter: limiter))
        case .ec2:
            server.start(
                handler: IMDSHandler(
                    port: server.port, feed: feed, roleName: roleName, region: region, limiter: limiter))
        }
    }

    public func stop() { server.stop() }

    public var url: String {
        "http://127.0.0.1:\(port)/"
    }

    /// The variables a client process needs (the token inline, or a file that holds it).
    public func clientVariables(tokenFile: String? = nil) -> [String: String] {
        switch kind {
        case .ecs:
            var variables = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url]
            if let tokenFile {
                variables["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile
            } else {
                variables["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token ?? ""
            }
            return variables
        case .ec2:
            return ["AWS_EC2_METADATA_SERVICE_ENDPOINT": url, "AWS_EC2_METADATA_V1_DISABLED": "true"]
        }
    }

    /// Writes the ECS token to `path`, 0600 and without a trailing newline (botocore rejects one).
    /// Nothing already at `path` is trusted or written through: a new file is created beside it
    /// (O_EXCL, O_NOFOLLOW, 0600 before its first byte), synced, and renamed over it, so a planted
    /// file, symlink or hard link is replaced, never reused; where it cannot be replaced (another
    /// user's file in a sticky folder such as /tmp), the write fails.
    public func writeTokenFile(_ path: String) throws {
        guard let token else { return }
        let name = lastPathComponent(path)
        guard !name.isEmpty, name != ".", name != "..", !path.hasSuffix("/") else {
            throw TokenFileError(path: path, cause: nil)
        }
        do {
            try PrivateFile.write(Data(token.utf8), to: path)
        } catch {
            throw TokenFileError(path: path, cause: error)
        }
    }
}

/// An error writing the servers' token file: the path and the file operation that failed (nil
/// when the path names a folder).
public struct TokenFileError: Error, CustomStringConvertible {
    public var path: String
    public var cause: FileOperationError?
    public var description: String {
        let reason = cause.map(\.description) ?? "\(path) names a folder, not a file"
        return "could not write the token file: \(reason); choose another path with --token-file."
    }
}

/// Variables removed from a server client's environment: keys and profiles would win over the
/// server in the SDKs' provider chain, and other servers' settings would point elsewhere.
let variablesHiddenFromServerClients = [
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION", "AWS_CREDENTIAL_FILE", "AWS_DEFAULT_PROFILE", "AWS_PROFILE",
    "AWS_SDK_LOAD_CONFIG", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    "AWS_EC2_METADATA_SERVICE_ENDPOINT", "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE",
    "AWS_EC2_METADATA_DISABLED",
    "AWS_EC2_METADATA_V1_DISABLED", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
]

/// The environment for a command that gets its credentials from `server`: no keys at all.
public func serverClientEnvironment(
    base: [String: String], server: CredentialServer, profile: String, region: String?,
    tokenFile: String? = nil
) -> [String: String] {
    var environment = base
    for name in variablesHiddenFromServerClients { environment[name] = nil }
    environment.merge(server.clientVariables(tokenFile: tokenFile)) { $1 }
    environment["AWS_VAULT"] = profile
    if let region {
        environment["AWS_REGION"] = region
        environment["AWS_DEFAULT_REGION"] = region
    }
    return environment
}
