import FoundationEssentials

/// A span of CloudTrail's history: every event with `from < eventTime <= until` (or, at a read's
/// lower end, `from <= eventTime`) has been read and what it proves recorded.
public struct CoveredSpan: Sendable, Hashable {
    public var from: Date
    public var until: Date

    public init(from: Date, until: Date) {
        self.from = from
        self.until = until
    }
}

/// How far one stream of CloudTrail events has been read. Reads go newest first, as LookupEvents
/// answers: a read of newer events (`head`) grows down from its top until it reaches `covered`,
/// and only then joins it, so that what is recorded as covered never has a hole.
public struct StreamCoverage: Sendable, Hashable {
    public var covered: CoveredSpan?
    /// A read of newer events that stopped (the invocation's deadline) before reaching `covered`.
    public var head: CoveredSpan?

    public init(covered: CoveredSpan? = nil, head: CoveredSpan? = nil) {
        self.covered = covered
        self.head = head
    }
}

/// What the functions keep of CloudTrail so that it is read once (the activity table): how far
/// each stream of events has been read, and the evidence of users the registry did not hold
/// when their events were read.
public protocol ActivityLedger: Sendable {
    func coverage(of stream: String) async throws -> StreamCoverage
    func setCoverage(_ coverage: StreamCoverage, of stream: String, updatedAt: Date) async throws
    /// Remembers `date` as the user's newest evidence of `kind` unless a later one is known.
    func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws
    /// The newest evidence of `kind` recorded for the user, if any.
    func evidence(userId: String, _ kind: EvidenceKind) async throws -> Date?
    /// Remembers a sign-in to an account through a permission set (its role) unless a later one
    /// is known; true when it did.
    func recordRoleSignIn(userId: String, accountId: String, roleName: String, at date: Date, updatedAt: Date) async throws -> Bool
    /// Every role sign-in remembered.
    func roleSignIns() async throws -> [RoleSignIn]
}
