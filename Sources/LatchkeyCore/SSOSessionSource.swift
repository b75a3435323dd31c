import AWSConfig

extension ProfileResolver {
    /// The sign-in of an `[sso-session NAME]` on its own, with no account or role: what
    /// `sso populate` needs to list the accounts. The token is the one the session's profiles share.
    public func ssoSessionSource(_ name: String) throws -> CredentialSource.SSOSource {
        let label = "sso-session \(name)"
        guard let session = config.ssoSession(name) else {
            throw LatchkeyError.invalidSSOConfig(
                profile: label,
                problem: "there is no [sso-session \(name)] section in \(configFile); add it or fix the name."
            )
        }
        guard let startURL = session["sso_start_url"].flatMap(nonEmpty) else {
            throw LatchkeyError.invalidSSOConfig(profile: label, problem: "sso_start_url is missing.")
        }
        guard let region = session["sso_region"].flatMap(nonEmpty) else {
            throw LatchkeyError.invalidSSOConfig(profile: label, problem: "sso_region is missing.")
        }
        let scopes = (session["sso_registration_scopes"] ?? "").split(separator: ",")
            .map { $0.trimmingBlanks() }.filter { !$0.isEmpty }
        // No profile: only the environment's endpoints apply (`AWS_ENDPOINT_URL_SSO`, ...).
        return .init(
            profile: name, sessionName: name, startURL: startURL, region: region, accountId: nil,
            roleName: nil,
            registrationScopes: scopes.isEmpty ? ["sso:account:access"] : scopes,
            cacheKey: "sso-session:\(name)",
            oidcEndpoint: config.configuredEndpointURL(
                service: "SSO OIDC", profile: "", environment: environment),
            portalEndpoint: config.configuredEndpointURL(
                service: "SSO", profile: "", environment: environment))
    }

    /// Whether `name` is an sso-session that no profile is named after: `sso login` and `sso logout`
    /// then sign that session in or out (what `sso populate`'s errors tell you to run).
    public func namesOnlyAnSSOSession(_ name: String) -> Bool {
        config.profile(name) == nil && config.ssoSession(name) != nil
    }
}
