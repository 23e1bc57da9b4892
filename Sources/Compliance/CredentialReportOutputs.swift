import FoundationEssentials

public struct CredentialReportResult: Sendable, Encodable {
    public let s3Uri: String
    public let rows: Int
    public let users: Int
    public let accounts: Int
    public let permissionSets: Int
    public let apiCalls: Int
    public let durationMs: Int
    /// Which enumeration of assignments the report chose, and why is in the log.
    public let enumeration: String
    /// Computed and logged, nothing written: `s3Uri` is where the report would have gone.
    public let dryRun: Bool
    /// How many invocations the run took (`apiCalls` and `durationMs` count them all).
    public let invocations: Int
}

/// What an invocation of the report answers: the result of the run it finished
/// (`"complete": true`), or the continuation to invoke it with next (`"complete": false`).
public enum CredentialReportResponse: Sendable, Encodable {
    case complete(CredentialReportResult)
    case incomplete(PausedReport)

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .complete(let result): try result.encode(to: encoder)
        case .incomplete(let paused): try paused.encode(to: encoder)
        }
        var container = encoder.container(keyedBy: JSONKey.self)
        try container.encode(isComplete, forKey: "complete")
    }

    public var isComplete: Bool {
        if case .complete = self { return true }
        return false
    }
}

/// A run that needs another invocation: `{"continuation": …}` resumes it where it stopped.
public struct PausedReport: Sendable, Encodable {
    public let continuation: String
    /// Invocations so far, and their calls and time.
    public let invocations: Int
    public let apiCalls: Int
    public let durationMs: Int
    /// The size of the progress kept.
    public let progressBytes: Int
}

/// The CSV columns of docs/contract.md, "Report out".
let reportHeader = [
    "account", "PermissionSetArn", "PermissionSetName", "PermissionSetDescription", "Type", "GroupId", "GroupName",
    "Username", "UserId", "LastLogin", "AccountName", "DaysSinceLastLogin",
]

/// The evidence beside the CSV: when, over which window, from which source, how much.
struct ReportManifest: Encodable {
    let report: String
    let generatedAt: String
    let windowStart: String
    let windowEnd: String
    let lookbackDays: Int
    let activitySource: String
    let identityStoreId: String
    let instanceArn: String
    let rows: Int
    let users: Int
    let accounts: Int
    let permissionSets: Int
    let enumeration: String
    let apiCalls: Int
    let invocations: Int
}

/// Where the report, its manifest and a long run's progress are kept (S3, encrypted with the
/// report's key).
public protocol ReportStore: Sendable {
    /// Where an object under `key` is, as the result names it (`s3://bucket/key`).
    func location(of key: String) -> String
    func write(_ body: Data, key: String, contentType: String) async throws
    /// The object under `key`; nil when there is none.
    func read(_ key: String) async throws -> Data?
    func remove(_ key: String) async throws
}
