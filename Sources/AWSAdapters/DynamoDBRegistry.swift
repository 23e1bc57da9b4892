import AWSClient
import Compliance
import FoundationEssentials

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

/// The table's attribute names.
enum RegistryAttribute {
    static let userId = "UserId"
    static let userName = "UserName"
    static let displayName = "DisplayName"
    static let identityStoreId = "IdentityStoreId"
    static let origin = "Origin"
    static let createdAt = "CreatedAt"
    static let lastPasswordChangeAt = "LastPasswordChangeAt"
    static let lastSignInAt = "LastSignInAt"
    static let userStatus = "UserStatus"
    static let updatedAt = "UpdatedAt"
}

extension RegistryUser {
    var item: DynamoDBItem {
        var item: DynamoDBItem = [
            RegistryAttribute.userId: .string(userId),
            RegistryAttribute.userName: .string(userName),
            RegistryAttribute.identityStoreId: .string(identityStoreId),
            RegistryAttribute.origin: .string(origin.rawValue),
            RegistryAttribute.updatedAt: .string(ISO8601UTC.format(updatedAt)),
        ]
        item[RegistryAttribute.displayName] = displayName.map(AttributeValue.string)
        item[RegistryAttribute.createdAt] = createdAt.map { .string(ISO8601UTC.format($0)) }
        item[RegistryAttribute.lastPasswordChangeAt] = lastPasswordChangeAt.map { .string(ISO8601UTC.format($0)) }
        item[RegistryAttribute.lastSignInAt] = lastSignInAt.map { .string(ISO8601UTC.format($0)) }
        item[RegistryAttribute.userStatus] = userStatus.map(AttributeValue.string)
        return item
    }

    /// Reads an item back; an item without a user id is not a registry user.
    init(item: DynamoDBItem) throws(RegistryItemError) {
        guard let userId = item[RegistryAttribute.userId]?.stringValue else {
            throw RegistryItemError(description: "a registry item has no UserId")
        }
        func date(_ name: String) -> Date? { item[name]?.stringValue.flatMap(ISO8601UTC.parse) }
        self.init(
            userId: userId,
            userName: item[RegistryAttribute.userName]?.stringValue ?? userId,
            displayName: item[RegistryAttribute.displayName]?.stringValue,
            identityStoreId: item[RegistryAttribute.identityStoreId]?.stringValue ?? "",
            origin: item[RegistryAttribute.origin]?.stringValue.flatMap(UserOrigin.init(rawValue:)) ?? .reconcile,
            createdAt: date(RegistryAttribute.createdAt),
            lastPasswordChangeAt: date(RegistryAttribute.lastPasswordChangeAt),
            lastSignInAt: date(RegistryAttribute.lastSignInAt),
            userStatus: item[RegistryAttribute.userStatus]?.stringValue,
            updatedAt: date(RegistryAttribute.updatedAt) ?? Date(timeIntervalSince1970: 0))
    }
}

public struct RegistryItemError: Error, CustomStringConvertible {
    public let description: String
}

extension EvidenceKind {
    /// The registry's (and the activity table's) attribute for the newest evidence of this kind.
    var attribute: String {
        switch self {
        case .passwordChange: RegistryAttribute.lastPasswordChangeAt
        case .signIn: RegistryAttribute.lastSignInAt
        }
    }
}
