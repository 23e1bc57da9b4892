import AWSClient
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

/// The activity ledger in a DynamoDB table: partition key `UserId`, sort key `Scope`.
/// Bookkeeping lives under the `UserId` `#coverage`, one item a stream; a user's evidence under
/// the user's id, `Scope` `signin` or `password`, and each role sign-in `role#<account>#<role>`.
public struct DynamoDBActivityLedger: ActivityLedger {
    static let coverageUserId = "#coverage"

    let table: String
    let dynamoDB: any DynamoDBAPI

    public init(table: String, dynamoDB: any DynamoDBAPI) {
        self.table = table
        self.dynamoDB = dynamoDB
    }

    public func coverage(of stream: String) async throws -> StreamCoverage {
        guard let item = try await dynamoDB.getItem(table: table, key: key(Self.coverageUserId, stream), consistentRead: true) else {
            return StreamCoverage()
        }
        func span(_ from: String, _ until: String) -> CoveredSpan? {
            guard let start = item[from]?.stringValue.flatMap(ISO8601UTC.parse), let end = item[until]?.stringValue.flatMap(ISO8601UTC.parse)
            else { return nil }
            return CoveredSpan(from: start, until: end)
        }
        return StreamCoverage(covered: span("CoveredFrom", "CoveredUntil"), head: span("HeadFrom", "HeadUntil"))
    }

    public func setCoverage(_ coverage: StreamCoverage, of stream: String, updatedAt: Date) async throws {
        var item = key(Self.coverageUserId, stream)
        item["UpdatedAt"] = .string(ISO8601UTC.format(updatedAt))
        item["CoveredFrom"] = coverage.covered.map { .string(ISO8601UTC.format($0.from)) }
        item["CoveredUntil"] = coverage.covered.map { .string(ISO8601UTC.format($0.until)) }
        item["HeadFrom"] = coverage.head.map { .string(ISO8601UTC.format($0.from)) }
        item["HeadUntil"] = coverage.head.map { .string(ISO8601UTC.format($0.until)) }
        try await dynamoDB.putItem(table: table, item: item, condition: nil)
    }

    public func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws {
        _ = try await dynamoDB.setDateIfLater(
            table: table, key: key(userId, kind.scope), attribute: kind.attribute, to: date, updatedAt: updatedAt, onlyIfItemExists: false)
    }

    public func recordRoleSignIn(userId: String, accountId: String, roleName: String, at date: Date, updatedAt: Date) async throws -> Bool {
        try await dynamoDB.setDateIfLater(
            table: table, key: key(userId, "role#\(accountId)#\(roleName)"), attribute: RegistryAttribute.lastSignInAt, to: date,
            updatedAt: updatedAt, onlyIfItemExists: false)
    }

    public func roleSignIns() async throws -> [RoleSignIn] {
        try await dynamoDB.scan(table: table, consistentRead: true).all().compactMap { item in
            guard let userId = item["UserId"]?.stringValue, let scope = item["Scope"]?.stringValue,
                let time = item[RegistryAttribute.lastSignInAt]?.stringValue.flatMap(ISO8601UTC.parse)
            else { return nil }
            let parts = scope.split(separator: "#", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "role" else { return nil }
            return RoleSignIn(userId: userId, userName: nil, accountId: String(parts[1]), roleName: String(parts[2]), time: time)
        }
    }

    public func evidence(userId: String, _ kind: EvidenceKind) async throws -> Date? {
        try await dynamoDB.getItem(table: table, key: key(userId, kind.scope), consistentRead: true)?[kind.attribute]?
            .stringValue.flatMap(ISO8601UTC.parse)
    }

    private func key(_ userId: String, _ scope: String) -> DynamoDBItem {
        ["UserId": .string(userId), "Scope": .string(scope)]
    }
}

extension EvidenceKind {
    /// The activity table's `Scope` of a user's evidence of this kind.
    var scope: String {
        switch self {
        case .passwordChange: "password"
        case .signIn: "signin"
        }
    }
}
