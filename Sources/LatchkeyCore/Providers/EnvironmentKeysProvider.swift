import AWSSigV4

/// `credential_source = Environment`: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
/// AWS_SESSION_TOKEN) of latchkey's own environment.
struct EnvironmentKeysProvider: CredentialProvider {
    let profile: String

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let environment = run.context.environment
        guard let id = nonEmpty(environment["AWS_ACCESS_KEY_ID"]),
            let secret = nonEmpty(environment["AWS_SECRET_ACCESS_KEY"])
        else {
            throw LatchkeyError.sourceUnavailable(
                profile: profile, source: "credential_source = Environment",
                reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not both set.")
        }
        let keys = AWSCredentials(
            accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty(environment["AWS_SESSION_TOKEN"])
        )
        return ProvidedCredentials(credentials: keys, origin: .longLivedKey)
    }
}
