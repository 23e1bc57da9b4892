import AWSClient
import FoundationEssentials

/// The kinds of evidence the monitors remember in the registry.
public enum EvidenceKind: Sendable, Hashable {
    case passwordChange
    case signIn

    var attribute: String {
        switch self {
        case .passwordChange: RegistryAttribute.lastPasswordChangeAt
        case .signIn: RegistryAttribute.lastSignInAt
        }
    }
}

/// The registry of Identity Center users. Every write is idempotent and never moves data back:
/// a replayed or late event cannot duplicate a user, move `CreatedAt` or forget evidence.
public protocol Registry: Sendable {
    /// Records a user from a CreateUser event: names and store refreshed, `Origin` kept when the
    /// user is already known (unless only a reconcile knew it), `CreatedAt` written only where there
    /// is none, history dates untouched.
    func register(_ user: RegistryUser) async throws
    /// Adds a user found by a reconcile; false when the user was already there.
    func addIfMissing(_ user: RegistryUser) async throws -> Bool
    /// Refreshes what the identity store says of a known user (names, and its status when the
    /// store reports one); false when the user is no longer in the registry.
    func refresh(userId: String, userName: String, displayName: String?, userStatus: String?, updatedAt: Date) async throws -> Bool
    /// False when there was no such user.
    func remove(userId: String) async throws -> Bool
    func allUsers() async throws -> [RegistryUser]
    /// Remembers `date` unless the registry already holds a later one or does not hold the user;
    /// true when it did.
    @discardableResult
    func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws -> Bool
    /// The user's item, nil when the registry does not hold the user.
    func user(_ userId: String) async throws -> RegistryUser?
}

/// The registry in a DynamoDB table, through conditional writes.
public struct DynamoDBRegistry: Registry {
    let table: String
    let dynamoDB: any DynamoDBAPI

    public init(table: String, dynamoDB: any DynamoDBAPI) {
        self.table = table
        self.dynamoDB = dynamoDB
    }

    public func register(_ user: RegistryUser) async throws {
        var update = DynamoDBExpression(
            "SET UserName = :userName, IdentityStoreId = :store, UpdatedAt = :updatedAt, Origin = if_not_exists(Origin, :origin)",
            values: [
                ":userName": .string(user.userName), ":store": .string(user.identityStoreId),
                ":updatedAt": .string(ISO8601UTC.format(user.updatedAt)), ":origin": .string(user.origin.rawValue),
            ])
        if let createdAt = user.createdAt {
            update.expression += ", CreatedAt = if_not_exists(CreatedAt, :createdAt)"
            update.values[":createdAt"] = .string(ISO8601UTC.format(createdAt))
        }
        setUserStatus(user.userStatus, in: &update)
        setOrRemoveDisplayName(user.displayName, in: &update)
        let stored = try await dynamoDB.updateItem(table: table, key: key(user.userId), update: update, condition: nil)

        // A reconcile found the user before its CreateUser event arrived: only the event knows how
        // the user was made, and a SCIM user must not be left to the password monitor.
        let reconciled = UserOrigin.reconcile.rawValue
        guard stored[RegistryAttribute.origin]?.stringValue == reconciled, user.origin != .reconcile else { return }
        try await ignoringConditionFailure {
            try await dynamoDB.updateItem(
                table: table, key: key(user.userId),
                update: DynamoDBExpression("SET Origin = :origin", values: [":origin": .string(user.origin.rawValue)]),
                condition: DynamoDBExpression("Origin = :reconciled", values: [":reconciled": .string(reconciled)]))
        }
    }

    public func addIfMissing(_ user: RegistryUser) async throws -> Bool {
        try await ignoringConditionFailure {
            try await dynamoDB.putItem(table: table, item: user.item, condition: DynamoDBExpression("attribute_not_exists(UserId)"))
            return true
        } ?? false
    }

    public func refresh(userId: String, userName: String, displayName: String?, userStatus: String?, updatedAt: Date) async throws -> Bool {
        var update = DynamoDBExpression(
            "SET UserName = :userName, UpdatedAt = :updatedAt",
            values: [":userName": .string(userName), ":updatedAt": .string(ISO8601UTC.format(updatedAt))])
        setUserStatus(userStatus, in: &update)
        setOrRemoveDisplayName(displayName, in: &update)
        return try await ignoringConditionFailure {
            try await dynamoDB.updateItem(table: table, key: key(userId), update: update, condition: DynamoDBExpression("attribute_exists(UserId)"))
            return true
        } ?? false
    }

    public func remove(userId: String) async throws -> Bool {
        try await dynamoDB.deleteItem(table: table, key: key(userId), condition: nil) != nil
    }

    public func allUsers() async throws -> [RegistryUser] {
        try await dynamoDB.scan(table: table, consistentRead: true).all().map { try RegistryUser(item: $0) }
    }

    @discardableResult
    public func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws -> Bool {
        try await dynamoDB.setDateIfLater(
            table: table, key: key(userId), attribute: kind.attribute, to: date, updatedAt: updatedAt, onlyIfItemExists: true)
    }

    public func user(_ userId: String) async throws -> RegistryUser? {
        try await dynamoDB.getItem(table: table, key: key(userId), consistentRead: true).map { try RegistryUser(item: $0) }
    }

    private func key(_ userId: String) -> DynamoDBItem {
        [RegistryAttribute.userId: .string(userId)]
    }

    /// Only what the store reported: a store that does not say leaves the attribute as it is.
    private func setUserStatus(_ userStatus: String?, in update: inout DynamoDBExpression) {
        guard let userStatus else { return }
        update.expression += ", UserStatus = :userStatus"
        update.values[":userStatus"] = .string(userStatus)
    }

    private func setOrRemoveDisplayName(_ displayName: String?, in update: inout DynamoDBExpression) {
        if let displayName {
            update.expression = update.expression.replacing("SET ", with: "SET DisplayName = :displayName, ", maxReplacements: 1)
            update.values[":displayName"] = .string(displayName)
        } else {
            update.expression += " REMOVE DisplayName"
        }
    }

    /// A failed condition means the write was not needed (already newer, already there, gone):
    /// the result is nil then, and any other error goes on up.
    @discardableResult
    private func ignoringConditionFailure<Result>(_ write: () async throws -> Result) async throws -> Result? {
        do {
            return try await write()
        } catch let error as AWSServiceError where error.code == "ConditionalCheckFailedException" {
            return nil
        }
    }
}
