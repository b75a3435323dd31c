#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where the shared files are and which profile is selected, from environment variables alone.
public struct ConfigLocations: Sendable, Equatable {
    /// Absolute path (with `~` expanded) of the config file.
    public var configFile: String
    /// Absolute path (with `~` expanded) of the credentials file.
    public var credentialsFile: String
    /// `AWS_PROFILE`, else `default`.
    public var profileName: String

    public init(configFile: String, credentialsFile: String, profileName: String = "default") {
        self.configFile = configFile
        self.credentialsFile = credentialsFile
        self.profileName = profileName
    }

    /// Resolves the paths as the SDKs do: `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, else
    /// `~/.aws/config` / `~/.aws/credentials`, expanding `~` with `HOME` from `environment`.
    public static func resolve(environment: [String: String]) -> ConfigLocations {
        let home = homeDirectory(environment)
        func path(_ variable: String, default fallback: String) -> String {
            let given = environment[variable].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            return expandTilde(given, home: home)
        }
        let profile = environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "default"
        return ConfigLocations(
            configFile: path("AWS_CONFIG_FILE", default: "~/.aws/config"),
            credentialsFile: path("AWS_SHARED_CREDENTIALS_FILE", default: "~/.aws/credentials"),
            profileName: profile)
    }

    /// `HOME`, then the Windows fallbacks the SDKs use; the account's home only if none is set.
    static func homeDirectory(_ environment: [String: String]) -> String {
        if let home = environment["HOME"], !home.isEmpty { return home }
        if let profile = environment["USERPROFILE"], !profile.isEmpty { return profile }
        if let drive = environment["HOMEDRIVE"], let path = environment["HOMEPATH"], !path.isEmpty {
            return drive + path
        }
        return accountHome() ?? "/"
    }

    /// The home folder of the account running latchkey, from the user database.
    private static func accountHome() -> String? {
        var buffer = [CChar](repeating: 0, count: 16_384)
        // `pw_dir` points into the buffer, so it is read before the buffer's pointer goes.
        let home = buffer.withUnsafeMutableBufferPointer { storage -> String? in
            var entry = passwd()
            var found: UnsafeMutablePointer<passwd>?
            guard let base = storage.baseAddress,
                getpwuid_r(getuid(), &entry, base, storage.count, &found) == 0, found != nil,
                let directory = entry.pw_dir
            else { return nil }
            return String(cString: directory)
        }
        return home?.isEmpty == false ? home : nil
    }

    /// Expands a leading `~` or `~/` (not `~user`, which needs a shell or a user database).
    public static func expandTilde(_ path: String, home: String) -> String {
        guard path.first == "~" else { return path }
        let rest = path.dropFirst()
        guard rest.isEmpty || rest.first == "/" else { return path }
        let base = home.hasSuffix("/") && home.count > 1 ? String(home.dropLast()) : home
        if rest.isEmpty { return base }
        return base == "/" ? String(rest) : base + rest
    }
}
