import AWSSigV4
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `2026-11-29T06:37:43Z`: the UTC form every AWS tool reads.
public func iso8601(_ date: Date) -> String {
    UTCDate(date).iso8601
}

/// Reads the UTC form `iso8601` writes (fractional seconds allowed and dropped).
public func parseISO8601(_ text: String) -> Date? {
    let fields = text.split(whereSeparator: { "-T:Z.".contains($0) }).prefix(6).compactMap { Int($0) }
    guard fields.count == 6, text.hasSuffix("Z") else { return nil }
    var parts = tm()
    parts.tm_year = Int32(fields[0] - 1900)
    parts.tm_mon = Int32(fields[1] - 1)
    parts.tm_mday = Int32(fields[2])
    parts.tm_hour = Int32(fields[3])
    parts.tm_min = Int32(fields[4])
    parts.tm_sec = Int32(fields[5])
    return Date(timeIntervalSince1970: TimeInterval(timegm(&parts)))
}
