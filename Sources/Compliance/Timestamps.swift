import FoundationEssentials

/// The one timestamp format the project writes: ISO 8601, UTC, to the second
/// (`2026-07-01T10:00:00Z`). Strings in it sort as the instants do, which the registry's
/// conditional updates rely on.
public enum ISO8601UTC {
    private static let style = Date.ISO8601FormatStyle(timeZone: .gmt)

    public static func format(_ date: Date) -> String {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down)).formatted(style)
    }

    /// Accepts what CloudTrail and people write: with or without fractional seconds, `Z` or an offset.
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        return try? Date(text, strategy: fractional)
    }
}

extension Date {
    /// Whole days from `self` to `later`, rounded down: the `daysSince` of the alerts and report.
    func wholeDays(until later: Date) -> Int {
        Int((later.timeIntervalSince(self) / 86_400).rounded(.down))
    }
}
