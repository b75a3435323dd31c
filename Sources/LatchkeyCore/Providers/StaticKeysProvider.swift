import AWSSigV4

/// Keys written in the shared credentials or config file.
struct StaticKeysProvider: CredentialProvider {
    let keys: AWSCredentials

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        ProvidedCredentials(credentials: keys, origin: .longLivedKey)
    }
}
