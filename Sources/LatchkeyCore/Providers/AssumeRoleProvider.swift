import AWSClient

/// AssumeRole with the credentials of its source (any provider: a key, a session, another role),
/// sending the session policies when it is the last call of a scoped chain.
struct AssumeRoleProvider: CredentialProvider {
    let source: any CredentialProvider
    let call: STSCall
    let role: PlanStep.RoleSettings
    let scope: SessionScope?

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let step = call.step
        let request = { (code: String?) in
            AssumeRoleRequest(
                roleArn: role.roleArn, roleSessionName: role.roleSessionName,
                durationSeconds: step.durationSeconds, externalId: role.externalId,
                serialNumber: step.mfaSerial, tokenCode: code, sourceIdentity: role.sourceIdentity,
                tags: role.sessionTags.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) },
                transitiveTagKeys: role.transitiveTagKeys, policy: scope?.policy,
                policyArns: scope?.policyArns ?? [])
        }
        return try await call.run(source: source, run) { sts, code in
            try await sts.assumeRole(request(code)).credentials
        }
    }
}
