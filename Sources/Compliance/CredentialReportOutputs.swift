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
}

/// Where the report and its manifest are written (S3, encrypted with the report's key).
public protocol ReportStore: Sendable {
    /// Where an object under `key` is, as the result names it (`s3://bucket/key`).
    func location(of key: String) -> String
    func write(_ body: Data, key: String, contentType: String) async throws
}
