#if os(Linux)
    import Synchronization
#else
    import Foundation  // NSLock, for `BuiltOnce`: `Mutex` needs macOS 15
#endif

/// The merged view of `~/.aws/config` and `~/.aws/credentials`, as the AWS SDKs build it.
///
/// `load` reads the files lazily: one scan checks every line (a malformed line anywhere is the same
/// error, at the same line, as a full parse) and notes where each section is; a section's properties
/// are built only when asked for (`profile(_:)`, `ssoSession(_:)`, `servicesSection(_:)`), so one
/// profile of a 10,000-profile file costs the scan and not 10,000 sections. `profiles`,
/// `ssoSessions` and `services` build everything, once. `parse` builds everything up front.
public struct AWSSharedConfig: Sendable, Equatable {
    /// Profiles from both files; on a key present in both, the credentials file wins.
    public var profiles: [String: ProfileSection] {
        get { contents.profiles }
        set {
            materialize()
            built.profiles = newValue
        }
    }
    public var ssoSessions: [String: ProfileSection] {
        get { contents.ssoSessions }
        set {
            materialize()
            built.ssoSessions = newValue
        }
    }
    /// `[services NAME]` sections: services name -> service key (`sts`) -> key -> value.
    public var services: [String: [String: [String: String]]] {
        get { contents.services }
        set {
            materialize()
            built.services = newValue
        }
    }

    /// The files as scanned by `load`; nil for a value built up front or changed since.
    private var files: IndexedFiles?
    /// Everything, when `files` is nil.
    private var built: Contents

    public init(
        profiles: [String: ProfileSection] = [:], ssoSessions: [String: ProfileSection] = [:],
        services: [String: [String: [String: String]]] = [:]
    ) {
        built = Contents(profiles: profiles, ssoSessions: ssoSessions, services: services)
    }

    private init(files: IndexedFiles) {
        self.files = files
        built = Contents()
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
        let contents = builder.result()
        return AWSSharedConfig(
            profiles: contents.profiles, ssoSessions: contents.ssoSessions, services: contents.services)
    }

    /// Like `parse`, with the same errors, but builds sections only when they are asked for.
    static func scan(
        configText: String?, credentialsText: String?,
        configPath: String = "config", credentialsPath: String = "credentials"
    ) throws -> AWSSharedConfig {
        try scan(
            config: configText.map { Array($0.utf8) }, credentials: credentialsText.map { Array($0.utf8) },
            configPath: configPath, credentialsPath: credentialsPath)
    }

    private static func scan(
        config: [UInt8]?, credentials: [UInt8]?, configPath: String, credentialsPath: String
    ) throws -> AWSSharedConfig {
        AWSSharedConfig(
            files: IndexedFiles(
                config: try config.map {
                    try IndexedFile(ProfileFileParser(utf8: $0, path: configPath), kind: .config)
                },
                credentials: try credentials.map {
                    try IndexedFile(ProfileFileParser(utf8: $0, path: credentialsPath), kind: .credentials)
                }))
    }

    /// Reads and scans both files; a missing file counts as empty, an unreadable one is an error.
    /// The bytes go to the scanner as read: a large file is never copied into a string.
    public static func load(_ locations: ConfigLocations) throws -> AWSSharedConfig {
        try scan(
            config: FileIO.readUTF8IfPresent(at: locations.configFile),
            credentials: FileIO.readUTF8IfPresent(at: locations.credentialsFile),
            configPath: locations.configFile, credentialsPath: locations.credentialsFile)
    }

    public func profile(_ name: String) -> ProfileSection? {
        guard let files else { return built.profiles[name] }
        return files.contents(SectionKind.profileSections(name)).profiles[name]
    }

    /// The `[sso-session NAME]` section.
    public func ssoSession(_ name: String) -> ProfileSection? {
        guard let files else { return built.ssoSessions[name] }
        return files.contents([.ssoSession(name)]).ssoSessions[name]
    }

    /// The `[services NAME]` section: service key (`sts`) -> key -> value.
    public func servicesSection(_ name: String) -> [String: [String: String]]? {
        guard let files else { return built.services[name] }
        return files.contents([.services(name)]).services[name]
    }

    /// Every profile name from both files, sorted (for `latchkey list`).
    public var profileNames: [String] {
        guard let files else { return built.profiles.keys.sorted() }
        return files.profileNames.sorted()
    }

    public static func == (lhs: AWSSharedConfig, rhs: AWSSharedConfig) -> Bool {
        lhs.contents == rhs.contents
    }

    private var contents: Contents { files?.all ?? built }

    /// Turns a scanned value into a built one, before a change to it.
    private mutating func materialize() {
        guard let files else { return }
        built = files.all
        self.files = nil
    }

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
        let section = self.profile(profile)
        let ignore =
            Self.bool(environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"])
            ?? Self.bool(section?["ignore_configured_endpoint_urls"]) ?? false
        if ignore { return nil }
        let envSuffix = String(service.uppercased().map { $0 == " " || $0 == "-" ? "_" : $0 })
        if let url = nonBlank(environment["AWS_ENDPOINT_URL_" + envSuffix]) { return url }
        if let url = nonBlank(environment["AWS_ENDPOINT_URL"]) { return url }
        let serviceKey = envSuffix.lowercased()
        if let servicesName = section?.servicesName,
            let url = nonBlank(servicesSection(servicesName)?[serviceKey]?["endpoint_url"])
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

    func result() -> Contents {
        Contents(
            profiles: profiles.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            },
            ssoSessions: ssoSessions.reduce(into: [:]) {
                $0[$1.key] = ProfileSection(name: $1.key, properties: $1.value)
            },
            services: services)
    }
}

/// What the files hold, merged.
private struct Contents: Equatable {
    var profiles: [String: ProfileSection] = [:]
    var ssoSessions: [String: ProfileSection] = [:]
    var services: [String: [String: [String: String]]] = [:]
}

extension SectionKind {
    /// The cases, without their names.
    enum Tag: UInt8 {
        case profile = 1
        case unprefixedDefault
        case ssoSession
        case services
        case ignored
    }

    /// 64-bit FNV-1a of the case and its name: equal kinds have equal fingerprints.
    var fingerprint: UInt64 {
        switch self {
        case .profile(let name): Self.fingerprint(.profile, name: name.utf8)
        case .unprefixedDefault: Self.fingerprint(.unprefixedDefault, name: EmptyCollection())
        case .ssoSession(let name): Self.fingerprint(.ssoSession, name: name.utf8)
        case .services(let name): Self.fingerprint(.services, name: name.utf8)
        case .ignored: Self.fingerprint(.ignored, name: EmptyCollection())
        }
    }

    static func fingerprint(_ tag: Tag, name: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325 ^ UInt64(tag.rawValue)
        hash = hash &* 0x100_0000_01b3
        for byte in name { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    /// The kinds of section that make up profile `name` (`[default]` counts for `default`).
    static func profileSections(_ name: String) -> [SectionKind] {
        name == "default" ? [.profile(name), .unprefixedDefault] : [.profile(name)]
    }
}

/// One file after `ProfileFileParser.index()`: where each kind of section is, in file order.
private struct IndexedFile: Sendable {
    let parser: ProfileFileParser
    let file: ProfileFileKind
    let sections: [RawSection]
    /// The fingerprint of each section's kind (`SectionKind.fingerprint`), by position, read from
    /// the header's bytes: no string is made for the sections a run never asks for.
    let fingerprints: [UInt64]

    init(_ parser: ProfileFileParser, kind file: ProfileFileKind) throws {
        self.parser = parser
        self.file = file
        sections = try parser.index()
        fingerprints = sections.map { parser.fingerprint(ofHeader: $0.headerBytes, in: file) }
    }

    /// The sections of these kinds, in file order, with their properties read. A look through the
    /// fingerprints costs less than hashing every section's name into a dictionary for a few
    /// look-ups, and much less than making and comparing every kind (a profile is looked up
    /// several times); the kind itself is made only where a fingerprint matches.
    func sections(_ wanted: [SectionKind]) -> [RawSection] {
        // Look-ups ask for one kind or two (`[default]` with `[profile default]`): two fingerprints to
        // compare make a tight loop over the array.
        precondition((1...2).contains(wanted.count), "look up one or two kinds of section")
        let first = wanted[0].fingerprint
        let second = wanted[wanted.count - 1].fingerprint
        var found: [RawSection] = []
        for position in fingerprints.indices
        where fingerprints[position] == first || fingerprints[position] == second {
            if wanted.contains(kind(position)) { found.append(withProperties(position)) }
        }
        return found
    }

    var allSections: [RawSection] { sections.indices.map(withProperties) }

    /// The profile names the file defines, as `Builder` would name them.
    var profileNames: [String] {
        sections.indices.compactMap { position in
            switch kind(position) {
            case .profile(let name): return name
            case .unprefixedDefault: return "default"
            case .ssoSession, .services, .ignored: return nil
            }
        }
    }

    private func kind(_ position: Int) -> SectionKind {
        parser.kind(ofHeader: sections[position].headerBytes, in: file)
    }

    private func withProperties(_ position: Int) -> RawSection {
        var section = sections[position]
        section.header = parser.headerText(section)
        section.properties = parser.properties(of: section)
        return section
    }
}

/// Both files as scanned by `AWSSharedConfig.load`; the full merge is built once, when first asked.
/// Copies of an `AWSSharedConfig` share this object (and may be read from several threads): the
/// files never change after the scan, and the one merge is built under a lock.
private final class IndexedFiles: Sendable {
    let config: IndexedFile?
    let credentials: IndexedFile?
    private let built = BuiltOnce()

    init(config: IndexedFile?, credentials: IndexedFile?) {
        self.config = config
        self.credentials = credentials
    }

    /// Merges only the sections of these kinds: the same merge `parse` does, limited to them.
    func contents(_ kinds: [SectionKind]) -> Contents {
        var builder = Builder()
        if let config { builder.merge(config.sections(kinds), from: .config) }
        if let credentials { builder.merge(credentials.sections(kinds), from: .credentials) }
        return builder.result()
    }

    var all: Contents {
        built.value {
            var builder = Builder()
            if let config { builder.merge(config.allSections, from: .config) }
            if let credentials { builder.merge(credentials.allSections, from: .credentials) }
            return builder.result()
        }
    }

    var profileNames: Set<String> {
        Set((config?.profileNames ?? []) + (credentials?.profileNames ?? []))
    }
}

#if os(Linux)
    /// The full merge, made by the first caller while the others wait.
    private final class BuiltOnce: Sendable {
        private let built = Mutex<Contents?>(nil)

        func value(_ make: () -> Contents) -> Contents {
            built.withLock { built in
                if let built { return built }
                let result = make()
                built = result
                return result
            }
        }
    }
#else
    /// The full merge, made by the first caller while the others wait (`Mutex` needs macOS 15).
    private final class BuiltOnce: @unchecked Sendable {
        private let lock = NSLock()
        private var built: Contents?

        func value(_ make: () -> Contents) -> Contents {
            lock.lock()
            defer { lock.unlock() }
            if let built { return built }
            let result = make()
            built = result
            return result
        }
    }
#endif
