import FoundationEssentials

/// One alert message: the JSON body of docs/contract.md "Alerts out", and a subject line for the
/// people an e-mail or chat subscription reaches.
public struct Alert: Sendable, Equatable {
    public let body: String
    public let subject: String
}

/// Where a judging run's alerts go: the alert queue, and the alert topic when there is one.
public protocol AlertSink: Sendable {
    func send(_ alerts: [Alert]) async throws
}

/// One user's standing under one control, as a finding keeps it (docs/contract.md, "Findings out").
public struct ComplianceFinding: Sendable, Equatable {
    public enum Standing: String, Sendable {
        case failed = "FAILED"
        case warning = "WARNING"
        /// No longer flagged: the finding is kept as passed and archived.
        case passed = "PASSED"
    }

    public let control: Control
    public let identityStoreId: String
    public let userId: String
    public let userName: String
    public let standing: Standing
    public let lastEventAt: Date?
    public let daysSince: Int?
    /// When the finding was first raised: kept across the runs that update it.
    public let firstSeen: Date
    public let updatedAt: Date
}

/// A finding still open (failed or warning) from an earlier run.
public struct OpenFinding: Sendable, Equatable {
    public let userName: String
    public let firstSeen: Date

    public init(userName: String, firstSeen: Date) {
        self.userName = userName
        self.firstSeen = firstSeen
    }
}

/// Where findings are kept, one per control and user (Security Hub).
public protocol FindingStore: Sendable {
    /// The open findings of `control` for this identity store's users, by user id.
    func openFindings(of control: Control, identityStoreId: String) async throws -> [String: OpenFinding]
    /// Creates or updates each finding.
    func keep(_ findings: [ComplianceFinding]) async throws
}
