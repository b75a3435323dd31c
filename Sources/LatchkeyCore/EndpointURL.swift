#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport

/// An endpoint the user configured (`endpoint_url`, `AWS_ENDPOINT_URL[_SERVICE]`, `[services]`,
/// `LATCHKEY_SIGNIN_ENDPOINT`) that is not an absolute URL. It is an error wherever it is used:
/// never silently replaced by AWS's own endpoint.
public struct BadEndpointURL: Error, Sendable, Equatable, CustomStringConvertible {
    public var value: String
    /// The settings that could have given it, named in the message.
    public var setting: String

    public var description: String {
        "the configured endpoint '\(value)' is not a URL with a scheme and host (such as "
            + "https://sts.example.com); fix \(setting)."
    }
}

/// `text` as an endpoint URL; nil when nothing is configured.
public func configuredEndpoint(_ text: String?, setting: String) throws(BadEndpointURL) -> URL? {
    guard let text else { return nil }
    guard let url = URL(string: text), url.scheme != nil, url.host != nil else {
        throw BadEndpointURL(value: text, setting: setting)
    }
    return url
}

extension ProfileResolver {
    /// The endpoint configured for `service` (`AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the
    /// profile's `endpoint_url` or its `[services]` section), checked; nil means AWS's own.
    public func configuredEndpoint(service: String, profile: String) throws(BadEndpointURL) -> URL? {
        try LatchkeyCore.configuredEndpoint(
            config.configuredEndpointURL(service: service, profile: profile, environment: environment),
            setting:
                "endpoint_url, AWS_ENDPOINT_URL_\(service.uppercased().replacing(" ", with: "_")) "
                + "or AWS_ENDPOINT_URL")
    }
}
