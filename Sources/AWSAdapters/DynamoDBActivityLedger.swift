import AWSClient
import Compliance
import FoundationEssentials

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
