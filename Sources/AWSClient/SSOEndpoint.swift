#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Endpoints of the IAM Identity Center services, per their endpoint rule sets (botocore
/// `sso`/`sso-oidc` 2019-06-10): `https://PREFIX.REGION.DNS`, `PREFIX-fips` for FIPS, the
/// partition's dual-stack suffix for dual-stack; GovCloud's regular endpoints are already FIPS.
public enum SSOEndpoint {
    public enum ResolutionError: Error, CustomStringConvertible, Sendable, Equatable {
        case missingRegion
        case invalidRegion(String)
        /// `feature` is "FIPS", "dual-stack" or "FIPS dual-stack".
        case unsupported(feature: String, partition: String)

        public var description: String {
            switch self {
            case .missingRegion:
                "No IAM Identity Center region is set; set `sso_region` in the profile or its sso-session section."
            case .invalidRegion(let region):
                "The region '\(region)' is not a valid AWS region name; fix `sso_region` in the profile or sso-session."
            case .unsupported(let feature, let partition):
                "The \(partition) partition has no \(feature) IAM Identity Center endpoint; "
                    + "turn off use_fips_endpoint/use_dualstack_endpoint or set an endpoint URL."
            }
        }
    }

    /// `oidc` (SSO OIDC) or `portal.sso` (the portal).
    /// `override` when given, else the regional endpoint for `prefix`.
    static func url(
        _ override: URL?, prefix: String, region: String, useFIPS: Bool, useDualStack: Bool
    ) throws(ResolutionError) -> URL {
        if let override { return override }
        return try resolve(prefix: prefix, region: region, useFIPS: useFIPS, useDualStack: useDualStack)
    }

    public static func resolve(
        prefix: String, region: String, useFIPS: Bool = false, useDualStack: Bool = false
    )
        throws(ResolutionError) -> URL
    {
        guard !region.isEmpty else { throw .missingRegion }
        guard region.allSatisfy({ $0 == "-" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) else {
            throw .invalidRegion(region)
        }
        let partition = Partition.of(region)
        let host: String
        switch (useFIPS, useDualStack) {
        case (true, true):
            guard partition.supportsFIPS && partition.supportsDualStack else {
                throw .unsupported(feature: "FIPS dual-stack", partition: partition.name)
            }
            host = "\(prefix)-fips.\(region).\(partition.dualStackDNSSuffix)"
        case (true, false):
            guard partition.supportsFIPS else {
                throw .unsupported(feature: "FIPS", partition: partition.name)
            }
            host =
                partition.name == "aws-us-gov"
                ? "\(prefix).\(region).amazonaws.com" : "\(prefix)-fips.\(region).\(partition.dnsSuffix)"
        case (false, true):
            guard partition.supportsDualStack else {
                throw .unsupported(feature: "dual-stack", partition: partition.name)
            }
            host = "\(prefix).\(region).\(partition.dualStackDNSSuffix)"
        case (false, false):
            host = "\(prefix).\(region).\(partition.dnsSuffix)"
        }
        guard let url = URL(string: "https://\(host)") else { throw .invalidRegion(region) }
        return url
    }
}
