/// GetSessionToken with the credentials of its source (a long-lived key), with an MFA code when
/// the profile names a device.
struct SessionTokenProvider: CredentialProvider {
    let source: any CredentialProvider
    let call: STSCall

    func credentials(_ run: ProviderRun) async throws -> ProvidedCredentials {
        let step = call.step
        return try await call.run(source: source, run) { sts, code in
            try await sts.getSessionToken(
                durationSeconds: step.durationSeconds, serialNumber: step.mfaSerial, tokenCode: code)
        }
    }
}
