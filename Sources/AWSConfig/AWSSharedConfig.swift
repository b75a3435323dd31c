/// The merged view of `~/.aws/config` and `~/.aws/credentials`, as the AWS SDKs build it.
public struct AWSSharedConfig: Sendable, Equatable {
    /// Profiles from both files; on a key present in both, the credentials file wins.
    public var profiles: [String: ProfileSection]
    public var ssoSessions: [String: ProfileSection]
    /// `[services NAME]` sections: services name -> service key (`sts`) -> key -> value.
    public var services: [String: [String: [String: String]]]

    public init(
        profiles: [String: ProfileSection] = [:], ssoSessions: [String: ProfileSection] = [:],
        services: [String: [String: [String: String]]] = [:]
    ) {
        self.profiles = profiles
        self.ssoSessions = ssoSessions
        self.services = services
    }

    /// Parses both texts (nil means the file does not exist); the paths only label errors.
    public static func parse(
        configText: String?, credentialsText: String?,
        configPath: String = "config", credentialsPath: String = "credentials"
    ) throws -> AWSSharedConfig {
        var builder = Builder()
        if let configText {
            let sections = try ProfileFileParser(text: configText, path: configPath).sections()
            builder.merge(sections, from: .config)
        }
        if let credentialsText {
            let sections = try ProfileFileParser(text: credentialsText, path: credentialsPath).sections()
            builder.merge(sections, from: .credentials)
        }
        return builder.result()
    }

    /// Reads and parses both files; a missing file counts as empty, an unreadable one is an error.
    public static func load(_ locations: ConfigLocations) throws -> AWSSharedConfig {
        try parse(
            configText: FileIO.readTextIfPresent(at: locations.configFile),
            credentialsText: FileIO.readTextIfPresent(at: locations.credentialsFile),
            configPath: locations.configFile, credentialsPath: locations.credentialsFile)
    }

    public func profile(_ name: String) -> ProfileSection? { profiles[name] }

    /// Every profile name from both files, sorted (for `latchkey list`).
    public var profileNames: [String] { profiles.keys.sorted() }

    /// The endpoint configured for a service, or nil to use the SDK's default endpoint.
    ///
    /// Precedence: client setting > `AWS_ENDPOINT_URL_<SERVICE>` > `AWS_ENDPOINT_URL` >
    /// the profile's `[services NAME]` block for the service > the profile's `endpoint_url`.
    /// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS` (else the profile's `ignore_configured_endpoint_urls`)
    /// or `ignoreConfiguredEndpointURLs` switch off everything but the client setting.
    /// - Parameter service: a service id such as `sts`, `STS` or `SSO OIDC`.
    public func configuredEndpointURL(
        service: String, profile: String, environment: [String: String],
        clientEndpointURL: String? = nil, ignoreConfiguredEndpointURLs: Bool = false
    ) -> String? {
        if let clientEndpointURL = nonBlank(clientEndpointURL) { return clientEndpointURL }
        if ignoreConfiguredEndpointURLs { return nil }
        let section = profiles[profile]
        let ignore =
            Self.bool(environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"])
            ?? Self.bool(section?["ignore_configured_endpoint_urls"]) ?? false
        if ignore { return nil }
        let envSuffix = String(service.uppercased().map { $0 == " " || $0 == "-" ? "_" : $0 })
        if let url = nonBlank(environment["AWS_ENDPOINT_URL_" + envSuffix]) { return url }
        if let url = nonBlank(environment["AWS_ENDPOINT_URL"]) { return url }
        let serviceKey = envSuffix.lowercased()
        if let servicesName = section?.servicesName,
            let url = nonBlank(services[servicesName]?[serviceKey]?["endpoint_url"])
        {
            return url
        }
        return section?.endpointURL
    }

    private func nonBlank(_ value: String?) -> String? {
        guard let value, !value.allSatisfy({ $0 == " " || $0 == "\t" }) else { return nil }
        return value
    }

    private static func bool(_ value: String?) -> Bool? {
        switch value?.lowercased() {
        case "true": return true
        case "false": return false
        default: return nil
        }
    }
}

/// Applies the section rules of each file and merges sections in file order (last key wins).
private struct Builder {
    var profiles: [String: [String: String]] = [:]
    var ssoSessions: [String: [String: String]] = [:]
    var services: [String: [String: [String: String]]] = [:]

    mutating func merge(_ sections: [RawSection], from file: ProfileFileKind) {
        let kinds = sections.map { SectionHeader(Substring($0.header)).kind(in: file) }
        // `[profile default]` anywhere in the config file hides every `[default]` there.
        let hasPrefixedDefault = kinds.contains(.profile("default"))
        for (section, kind) in zip(sections, kinds) {
            let properties = section.properties.filter { ProfileName.isValid($0.key) }
            switch kind {
            case .profile(let name):
                profiles[name, default: [:]].merge(properties) { _, new in new }
            case .unprefixedDefault:
                if !hasPrefixedDefault {
                    profiles["default", default: [:]].merge(properties) { _, new in new }
                }
            case .ssoSession(let name):
                ssoSessions[name, default: [:]].merge(properties) { _, new in new }
            case .services(let name):
                for (service, value) in properties {
                    guard let block = ProfileSection.parseSubProperties(value) else { continue }
                    services[name, default: [:]][service, default: [:]].merge(block) { _, new in new }
                }
            case .ignored:
                continue
            }
        }
    }

    func result() -> AWSSharedConfig {
        AWSSharedConfig(
            profiles: profiles.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            },
            ssoSessions: ssoSessions.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            },
            services: services)
    }
}
