#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// STS endpoint resolution, following the STS endpoint rule set (2011-06-15) for the aws, aws-cn,
/// aws-us-gov and ISO partitions: regional by default, FIPS, dual-stack, and the legacy global
/// endpoint for the 15 original regions when `useGlobalEndpoint` is set.
public enum STSEndpoint {
    public enum ResolutionError: Error, CustomStringConvertible, Sendable, Equatable {
        case missingRegion
        case invalidRegion(String)
        case fipsWithCustomEndpoint
        case dualStackWithCustomEndpoint
        case fipsUnsupported(partition: String)
        case dualStackUnsupported(partition: String)
        case fipsAndDualStackUnsupported(partition: String)

        public var description: String {
            switch self {
            case .missingRegion:
                "No AWS region is set for STS; set `region` in the profile or AWS_REGION."
            case .invalidRegion(let region):
                "The region '\(region)' is not a valid AWS region name; fix `region` in the profile or AWS_REGION."
            case .fipsWithCustomEndpoint:
                "FIPS cannot be combined with a custom STS endpoint; unset one of use_fips_endpoint and endpoint_url."
            case .dualStackWithCustomEndpoint:
                "Dual-stack cannot be combined with a custom STS endpoint; unset one of use_dualstack_endpoint and endpoint_url."
            case .fipsUnsupported(let partition):
                "The \(partition) partition has no FIPS STS endpoint; turn off use_fips_endpoint."
            case .dualStackUnsupported(let partition):
                "The \(partition) partition has no dual-stack STS endpoint; turn off use_dualstack_endpoint."
            case .fipsAndDualStackUnsupported(let partition):
                "The \(partition) partition has no FIPS dual-stack STS endpoint; turn off use_fips_endpoint or use_dualstack_endpoint."
            }
        }
    }

    /// Regions the legacy (`sts_regional_endpoints = legacy`) setting sends to `sts.amazonaws.com`.
    static let legacyGlobalRegions: Set<String> = [
        "ap-northeast-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "aws-global", "ca-central-1",
        "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2", "eu-west-3", "sa-east-1", "us-east-1",
        "us-east-2", "us-west-1", "us-west-2",
    ]

    public static func resolve(
        region: String, useFIPS: Bool = false, useDualStack: Bool = false, useGlobalEndpoint: Bool = false
    ) throws(ResolutionError) -> (url: URL, signingRegion: String) {
        let resolved = try resolve(
            region: Optional(region), useFIPS: useFIPS, useDualStack: useDualStack,
            useGlobalEndpoint: useGlobalEndpoint, customEndpoint: nil)
        return (resolved.url, resolved.signingRegion ?? region)
    }

    /// The full rule set, including a custom endpoint (which signs with `region`, if any).
    public static func resolve(
        region: String?, useFIPS: Bool, useDualStack: Bool, useGlobalEndpoint: Bool, customEndpoint: URL?
    ) throws(ResolutionError) -> (url: URL, signingRegion: String?) {
        if let customEndpoint {
            if useFIPS { throw .fipsWithCustomEndpoint }
            if useDualStack { throw .dualStackWithCustomEndpoint }
            return (customEndpoint, region)
        }
        guard let region, !region.isEmpty else { throw .missingRegion }
        guard region.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || isAlphanumeric($0) }) else {
            throw .invalidRegion(region)
        }
        let partition = Partition.of(region)
        if useGlobalEndpoint && !useFIPS && !useDualStack && legacyGlobalRegions.contains(region) {
            return (try url("https://sts.amazonaws.com", region), "us-east-1")
        }
        switch (useFIPS, useDualStack) {
        case (true, true):
            guard partition.supportsFIPS && partition.supportsDualStack else {
                throw .fipsAndDualStackUnsupported(partition: partition.name)
            }
            return (try url("https://sts-fips.\(region).\(partition.dualStackDNSSuffix)", region), region)
        case (true, false):
            guard partition.supportsFIPS else { throw .fipsUnsupported(partition: partition.name) }
            // GovCloud's regular STS endpoints are already FIPS validated.
            let host =
                partition.name == "aws-us-gov"
                ? "sts.\(region).amazonaws.com" : "sts-fips.\(region).\(partition.dnsSuffix)"
            return (try url("https://\(host)", region), region)
        case (false, true):
            guard partition.supportsDualStack else { throw .dualStackUnsupported(partition: partition.name) }
            return (try url("https://sts.\(region).\(partition.dualStackDNSSuffix)", region), region)
        case (false, false):
            if region == "aws-global" { return (try url("https://sts.amazonaws.com", region), "us-east-1") }
            return (try url("https://sts.\(region).\(partition.dnsSuffix)", region), region)
        }
    }

    /// The partition a region belongs to (`aws`, `aws-cn`, `aws-us-gov`, ...), `aws` when unknown.
    public static func partition(ofRegion region: String) -> String { Partition.of(region).name }

    private static func url(_ text: String, _ region: String) throws(ResolutionError) -> URL {
        guard let url = URL(string: text) else { throw .invalidRegion(region) }
        return url
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}

/// The AWS partitions (from the SDKs' partitions.json): which DNS suffixes a region uses.
struct Partition: Sendable, Equatable {
    var name: String
    var dnsSuffix: String
    var dualStackDNSSuffix: String
    var supportsFIPS: Bool
    var supportsDualStack: Bool
    /// Region-name shape: these leading dash-separated words, then `\w+-\d+`.
    var regionPrefixes: [[String]]
    var globalRegion: String

    static let aws = Partition(
        name: "aws", dnsSuffix: "amazonaws.com", dualStackDNSSuffix: "api.aws", supportsFIPS: true,
        supportsDualStack: true,
        regionPrefixes: ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"].map { [$0] },
        globalRegion: "aws-global")
    static let all: [Partition] = [
        aws,
        Partition(
            name: "aws-cn", dnsSuffix: "amazonaws.com.cn", dualStackDNSSuffix: "api.amazonwebservices.com.cn",
            supportsFIPS: true, supportsDualStack: true, regionPrefixes: [["cn"]],
            globalRegion: "aws-cn-global"),
        Partition(
            name: "aws-us-gov", dnsSuffix: "amazonaws.com", dualStackDNSSuffix: "api.aws", supportsFIPS: true,
            supportsDualStack: true, regionPrefixes: [["us", "gov"]], globalRegion: "aws-us-gov-global"),
        Partition(
            name: "aws-iso", dnsSuffix: "c2s.ic.gov", dualStackDNSSuffix: "c2s.ic.gov", supportsFIPS: true,
            supportsDualStack: false, regionPrefixes: [["us", "iso"]], globalRegion: "aws-iso-global"),
        Partition(
            name: "aws-iso-b", dnsSuffix: "sc2s.sgov.gov", dualStackDNSSuffix: "sc2s.sgov.gov",
            supportsFIPS: true,
            supportsDualStack: false, regionPrefixes: [["us", "isob"]], globalRegion: "aws-iso-b-global"),
        Partition(
            name: "aws-iso-e", dnsSuffix: "cloud.adc-e.uk", dualStackDNSSuffix: "cloud.adc-e.uk",
            supportsFIPS: true,
            supportsDualStack: false, regionPrefixes: [["eu", "isoe"]], globalRegion: "aws-iso-e-global"),
        Partition(
            name: "aws-iso-f", dnsSuffix: "csp.hci.ic.gov", dualStackDNSSuffix: "csp.hci.ic.gov",
            supportsFIPS: true,
            supportsDualStack: false, regionPrefixes: [["us", "isof"]], globalRegion: "aws-iso-f-global"),
    ]

    /// The partition of a region; unknown shapes fall back to `aws`, as the SDKs do.
    static func of(_ region: String) -> Partition {
        if let match = all.first(where: { $0.globalRegion == region }) { return match }
        let words = region.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        return all.first { partition in
            partition.regionPrefixes.contains { prefix in
                words.count == prefix.count + 2 && Array(words.prefix(prefix.count)) == prefix
                    && !words[prefix.count].isEmpty
                    && words[prefix.count].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" })
                    && !words[prefix.count + 1].isEmpty && words[prefix.count + 1].allSatisfy(\.isNumber)
            }
        } ?? aws
    }
}
