#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif
import SystemSupport
#if canImport(Glibc)
    import Glibc
#endif
import LatchkeyCore

/// A started server with what `exec`/`serve` print or hand on.
public struct RunningServer: Sendable {
    public var server: CredentialServer
    public var region: String?
    public var scope: SessionScope?
}

/// The server wiring of `serve` and `exec --ecs-server/--ec2-server`: the profile's feed (renewed
/// in the background), the role feeds of an ECS server, and the server itself.
public enum ProfileServer {
    /// `log` hears why a renewal failed (our stderr only: a client is told that it failed, not why).
    public static func start(
        _ served: ServedProfile, kind: CredentialServerKind, port: UInt16,
        log: @escaping @Sendable (String) -> Void, debug: @Sendable (String) -> Void
    ) throws -> RunningServer {
        let feed = CredentialFeed(
            initial: served.first.credentials, refreshBefore: served.refreshBefore, log: log
        ) { try await served.renew() }
        _ = feed.startRefreshing()
        let roles =
            kind == .ecs
            ? RoleFeeds(base: feed, refreshBefore: served.refreshBefore) { roleArn, base in
                try await served.assumeRole(roleArn, base: base)
            } : nil
        let plan = served.plan
        let server = try CredentialServer(
            kind: kind, port: port, feed: feed, roles: roles, roleName: served.profile,
            region: plan.region ?? "us-east-1")
        debug("\(kind.rawValue) server for \(served.profile) listening on \(server.url)")
        return RunningServer(server: server, region: plan.region, scope: plan.scope)
    }

    /// Runs the command as a child (latchkey stays to serve) and exits with its status.
    public static func superviseUntilExit(path: String, arguments: [String], environment: [String: String])
        async throws -> Never
    {
        let child = try SupervisedCommand.spawn(path: path, arguments: arguments, environment: environment)
        // waitpid blocks: give it a thread of its own, not one of the concurrency pool's.
        startThread(named: "latchkey-wait") { exit(child.wait()) }
        while true { try await Task.sleep(for: .seconds(3600)) }
    }
}
