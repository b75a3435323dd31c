// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

/// `latchkey --version`: scripts/version sets LATCHKEY_VERSION and LATCHKEY_COMMIT for the build;
/// without them (a plain `swift build`) it says "0.0.0-dev (unknown commit)". Only plain
/// characters are accepted, as they end up inside a C string literal.
func buildInfo(_ variable: String) -> [CSetting] {
    guard let value = Context.environment[variable], !value.isEmpty,
        value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.~_".contains($0)) })
    else { return [] }
    return [.define(variable, to: "\"\(value)\"")]
}

// The release binary on Linux is linked stripped (`ld -s`: no DWARF, no symbol table; SwiftPM already
// passes --gc-sections): 99 MB -> 66 MB before anything else of issue 16. Unsafe flags are allowed
// here because this is the root package, and the executable is in no product another package uses.
// LATCHKEY_KEEP_SYMBOLS=1 keeps the symbols, for profilers (callgrind, perf) and debuggers.
let releaseStrip: [LinkerSetting] =
    Context.environment["LATCHKEY_KEEP_SYMBOLS"] == nil
    ? [.unsafeFlags(["-Xlinker", "-s"], .when(platforms: [.linux], configuration: .release))] : []

let package = Package(
    name: "latchkey",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "latchkey", targets: ["latchkey"]),
        // Libraries exported for the separate fuzzing package in Fuzz/.
        .library(name: "AWSConfig", targets: ["AWSConfig"]),
        .library(name: "AWSClient", targets: ["AWSClient"]),
        .library(name: "Keyring", targets: ["Keyring"]),
        .library(name: "LatchkeyServer", targets: ["LatchkeyServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
    ],
    targets: [
        // Bottom layers: no dependencies on each other except where the arrows in DESIGN.md point.
        .target(name: "AWSConfig", swiftSettings: strict),
        // Private files, private folders, HOME and XDG lookup: the plumbing every layer above shares.
        .target(name: "SystemSupport", dependencies: ["CLatchkeySys"], swiftSettings: strict),
        .target(
            name: "AWSSigV4",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict),
        // libcurl through dlopen: Linux binaries never link FoundationNetworking (~8 ms at start-up).
        .target(
            name: "CCurlShim",
            linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(
            name: "AWSClient",
            dependencies: [
                "AWSSigV4", "SystemSupport", .product(name: "Crypto", package: "swift-crypto"), "CCurlShim",
            ],
            swiftSettings: strict),
        .target(name: "CLatchkeySys"),
        .target(
            name: "CLatchkeyVersion", cSettings: buildInfo("LATCHKEY_VERSION") + buildInfo("LATCHKEY_COMMIT")),
        // libsecret is dlopen'ed on first use of the secret-service backend: no link-time dependency.
        .target(name: "CSecretService", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(
            name: "Keyring",
            dependencies: [
                "CLatchkeySys", "CSecretService", "SystemSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .target(
            name: "LatchkeyCore",
            dependencies: ["AWSConfig", "AWSSigV4", "AWSClient", "Keyring", "CLatchkeySys", "SystemSupport"],
            swiftSettings: strict),
        .target(name: "CLatchkeyServerSys"),
        .target(
            name: "LatchkeyServer",
            dependencies: [
                "LatchkeyCore", "CLatchkeyServerSys", "SystemSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict),
        .target(
            name: "LatchkeyCLI",
            dependencies: [
                "LatchkeyCore", "LatchkeyServer", "CLatchkeySys", "CLatchkeyServerSys", "CLatchkeyVersion",
                "SystemSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict),
        .executableTarget(
            name: "latchkey", dependencies: ["LatchkeyCLI"], swiftSettings: strict,
            linkerSettings: releaseStrip),
        .target(
            name: "LatchkeyTestSupport",
            dependencies: ["LatchkeyCore", "Keyring", "AWSClient", "AWSConfig"],
            swiftSettings: strict),

        .testTarget(
            name: "AWSConfigTests", dependencies: ["AWSConfig", "LatchkeyTestSupport"], swiftSettings: strict),
        .testTarget(name: "SystemSupportTests", dependencies: ["SystemSupport"], swiftSettings: strict),
        .testTarget(
            name: "AWSSigV4Tests", dependencies: ["AWSSigV4", "LatchkeyTestSupport"], swiftSettings: strict),
        .testTarget(
            name: "AWSClientTests", dependencies: ["AWSClient", "LatchkeyTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "KeyringTests", dependencies: ["Keyring", "LatchkeyTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LatchkeyCoreTests", dependencies: ["LatchkeyCore", "LatchkeyTestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "LatchkeyCLITests",
            dependencies: ["LatchkeyCLI", "LatchkeyCore", "LatchkeyTestSupport", "Keyring", "AWSSigV4"],
            swiftSettings: strict),
        .testTarget(
            name: "LatchkeyServerTests",
            dependencies: ["LatchkeyServer", "LatchkeyCore", "LatchkeyTestSupport"],
            swiftSettings: strict),
    ]
)
