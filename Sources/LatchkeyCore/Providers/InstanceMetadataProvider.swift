import AWSClient

/// `credential_source = Ec2InstanceMetadata`: the instance's role credentials over IMDSv2.
struct InstanceMetadataProvider: CredentialProvider {
    /// The profile's `ec2_metadata_service_endpoint` / `_mode`; the environment's win, as in the SDKs.
    let endpoint: String?
    let mode: String?

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let context = run.context
        let resolved = try IMDSClient.resolveEndpoint(
            environment: context.environment, profileEndpoint: endpoint, profileMode: mode)
        let answer = try await IMDSClient(endpoint: resolved, transport: context.transport).credentials()
        return ProvidedCredentials(credentials: answer.credentials, origin: .newSession)
    }
}
