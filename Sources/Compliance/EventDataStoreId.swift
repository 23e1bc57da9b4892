import FoundationEssentials

/// A CloudTrail Lake event data store id, checked so that it can go into SQL as a table name:
/// only letters, digits, `-` and `_`, whether given bare or as the store's ARN.
public struct EventDataStoreId: Sendable, Hashable, CustomStringConvertible {
    public let id: String

    public init(_ value: String) throws(ConfigurationError) {
        var candidate = Substring(value)
        if value.hasPrefix("arn:") {
            let parts = value.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
            guard parts.count == 6, parts[2] == "cloudtrail", parts[5].hasPrefix("eventdatastore/") else {
                throw ConfigurationError("CLOUDTRAIL_LAKE_EVENT_DATA_STORE is not an event data store ARN: '\(value)'")
            }
            candidate = parts[5].dropFirst("eventdatastore/".count)
        }
        let allowed = candidate.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_"
        }
        guard allowed, (1...128).contains(candidate.count) else {
            throw ConfigurationError("CLOUDTRAIL_LAKE_EVENT_DATA_STORE must be an event data store id or ARN, not '\(value)'")
        }
        id = String(candidate)
    }

    public var description: String { id }
}
