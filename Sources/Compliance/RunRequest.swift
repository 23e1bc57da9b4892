import FoundationEssentials

/// A run of a monitor or of the report: what they are invoked with, an EventBridge "Scheduled Event", an SSM
/// Automation payload, or `{}`. Only these keys mean anything; any other is ignored.
public struct RunRequest: Sendable, Decodable {
    /// Compute, log and return; send and write nothing.
    public var dryRun: Bool
    /// The monitors' `{"catchUp": true}`: read CloudTrail where the ledger lacks coverage and
    /// record it; judge nothing, send nothing.
    public var catchUp: Bool
    /// Evaluate as of this instant instead of now.
    public var asOf: Date?
    /// The report's window, overriding `REPORT_LOOKBACK_DAYS` (SSM Automation's parameter).
    public var lookbackDays: Int?
    /// The report's `{"continuation": …}`: go on with the run an earlier invocation answered it for.
    public var continuation: String?

    public init(dryRun: Bool = false, catchUp: Bool = false, asOf: Date? = nil, lookbackDays: Int? = nil, continuation: String? = nil) {
        self.dryRun = dryRun
        self.catchUp = catchUp
        self.asOf = asOf
        self.lookbackDays = lookbackDays
        self.continuation = continuation
    }

    enum CodingKeys: String, CodingKey { case dryRun, catchUp, asOf, lookbackDays, continuation }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        dryRun = try container.decodeIfPresent(Bool.self, forKey: .dryRun) ?? false
        catchUp = try container.decodeIfPresent(Bool.self, forKey: .catchUp) ?? false
        if let text = try container.decodeIfPresent(String.self, forKey: .asOf) {
            guard let date = ISO8601UTC.parse(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .asOf, in: container, debugDescription: "'\(text)' is not an ISO 8601 time such as 2026-07-01T10:00:00Z")
            }
            asOf = date
        }
        if let days = try container.decodeIfPresent(Int.self, forKey: .lookbackDays) {
            guard (1...365).contains(days) else {
                throw DecodingError.dataCorruptedError(forKey: .lookbackDays, in: container, debugDescription: "must be 1 to 365 days, not \(days)")
            }
            lookbackDays = days
        }
        continuation = try container.decodeIfPresent(String.self, forKey: .continuation)
    }
}
