/// Builds the composition of providers that runs a decision: the reused session (or the source),
/// then each step after it as `SingleFlight(Cached(MFAProtected(call)))`. A new source is one
/// provider type plus one case in `source(of:)`.
enum ProviderGraph {
    static func provider(for decision: CredentialDecision) -> any CredentialProvider {
        let plan = decision.plan
        var provider: any CredentialProvider
        var first = 0
        if let reused = decision.reused, let credentials = reused.session.credentials {
            provider = Reused(credentials: credentials)
            first = reused.link
        } else {
            provider = source(of: plan)
        }
        let access = STSAccess(plan: plan)
        for (index, step) in plan.steps.enumerated() where index >= first {
            let call = STSCall(step: step, access: access, keyProfile: plan.source.keyProfile)
            switch step.kind {
            case .getSessionToken:
                provider = SessionTokenProvider(source: provider, call: call)
            case .assumeRole(let role):
                // Session policies narrow the last call only; the resolver put them only where AWS takes them.
                let scope = index == plan.steps.count - 1 ? plan.scope : nil
                provider = AssumeRoleProvider(source: provider, call: call, role: role, scope: scope)
            }
            if let serial = step.mfaSerial {
                provider = MFAProtected(
                    inner: provider, serial: serial, profile: step.profile, mfaProcess: step.mfaProcess)
            }
            provider = SingleFlight(
                inner: Cached(
                    inner: provider, key: step.cacheKey, profile: step.profile, operation: step.operation,
                    mfaSerial: step.mfaSerial ?? step.mfaCoveredBy),
                key: step.cacheKey, profile: step.profile)
        }
        return provider
    }

    /// The provider of the chain's first credentials. The ones that cost a call or a program are
    /// cached under the source's key until they expire.
    static func source(of plan: CredentialPlan) -> any CredentialProvider {
        let provider: any CredentialProvider
        switch plan.source {
        case .storedKey(let profile):
            return StoredKeyProvider(profile: profile)
        case .staticKeys(_, let keys):
            return StaticKeysProvider(keys: keys)
        case .environment:
            return EnvironmentKeysProvider(profile: plan.profile)
        case .loginSession(let login):
            return LoginSessionProvider(source: login)
        case .instanceMetadata:
            provider = InstanceMetadataProvider(
                endpoint: plan.instanceMetadataEndpoint, mode: plan.instanceMetadataMode)
        case .ecsContainer:
            provider = ContainerCredentialsProvider(profile: plan.profile)
        case .webIdentity(let web):
            provider = WebIdentityProvider(
                source: web, access: STSAccess(plan: plan), scope: plan.steps.isEmpty ? plan.scope : nil)
        case .sso(let sso):
            provider = SSOProvider(sso: sso)
        case .credentialProcess(let profile, let command, _):
            provider = CredentialProcessProvider(profile: profile, command: command)
        }
        let reported = SourceFailures(inner: provider, profile: plan.profile, source: plan.source.operation)
        guard let key = plan.source.cacheKey else { return reported }
        return Cached(
            inner: reported, key: key, profile: plan.profile, operation: plan.source.operation, mfaSerial: nil
        )
    }
}
