import AWSClient

/// `credential_source = EcsContainer`: the ECS/EKS container credentials endpoint.
struct ContainerCredentialsProvider: CredentialProvider {
    let profile: String

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let context = run.context
        guard
            let configuration = try ContainerCredentialsClient.configuration(environment: context.environment)
        else {
            throw LatchkeyError.sourceUnavailable(
                profile: profile, source: "credential_source = EcsContainer",
                reason: "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor _FULL_URI is set.")
        }
        let answer = try await ContainerCredentialsClient(
            configuration: configuration, transport: context.transport
        )
        .credentials()
        return ProvidedCredentials(credentials: answer.credentials, origin: .newSession)
    }
}
