/// The long-lived key `latchkey add PROFILE` keeps in the keyring.
struct StoredKeyProvider: CredentialProvider {
    let profile: String

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let store = run.context.store
        guard let key = try await store.longLivedKey(profile: profile) else {
            throw LatchkeyError.noStoredCredentials(profile: profile, backend: store.keyring.backendName)
        }
        return ProvidedCredentials(credentials: key, origin: .longLivedKey)
    }
}
