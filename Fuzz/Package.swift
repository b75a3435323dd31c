// swift-tools-version: 6.0
// libFuzzer targets for latchkey's parsers. A separate package so the main build never sees
// the sanitizer flags. Build through scripts/fuzz, which passes
// -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library.
import PackageDescription

let package = Package(
    name: "latchkey-fuzz",
    platforms: [.macOS(.v13)],
    dependencies: [.package(name: "latchkey", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver"]),
        .executableTarget(
            name: "FuzzConfig",
            dependencies: ["FuzzSupport", .product(name: "AWSConfig", package: "latchkey")]),
        .executableTarget(
            name: "FuzzXML",
            dependencies: ["FuzzSupport", .product(name: "AWSClient", package: "latchkey")]),
        .executableTarget(
            name: "FuzzJSON",
            dependencies: ["FuzzSupport", .product(name: "AWSClient", package: "latchkey")]),
        .executableTarget(
            name: "FuzzHTTP",
            dependencies: ["FuzzSupport", .product(name: "LatchkeyServer", package: "latchkey")]),
        .executableTarget(
            name: "FuzzVault",
            dependencies: ["FuzzSupport", .product(name: "Keyring", package: "latchkey")]),
        .executableTarget(
            name: "FuzzVaultHeader",
            dependencies: ["FuzzSupport", .product(name: "Keyring", package: "latchkey")]),
        .executableTarget(
            name: "FuzzAWSVault",
            dependencies: ["FuzzSupport", .product(name: "Keyring", package: "latchkey")]),
    ]
)
