import AWSSigV4
import SystemSupport
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

extension Timestamps {
    /// RFC 3339 in UTC with whole seconds, `2026-08-30T12:34:56Z`, as the AWS CLI writes its caches.
    static func iso8601String(_ date: Date) -> String {
        UTCDate(date).iso8601
    }
}
