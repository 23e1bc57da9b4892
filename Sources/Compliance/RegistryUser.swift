import AWSClient
import FoundationEssentials

/// How a user came into the registry.
public enum UserOrigin: String, Sendable, Codable, CaseIterable {
    /// CreateUser from the console (`sso-directory.amazonaws.com`).
    case console
    /// CreateUser through the Identity Store API (`identitystore.amazonaws.com`).
    case api
    /// Provisioned by an external identity provider over SCIM; its password lives there.
    case scim
    /// Found by a full listing of the identity store, with no CreateUser event seen.
    case reconcile
}

/// One item of the registry table (docs/contract.md, "The registry table").
public struct RegistryUser: Sendable, Hashable {
    public var userId: String
    public var userName: String
    public var displayName: String?
    public var identityStoreId: String
    public var origin: UserOrigin
    /// From the CloudTrail event, or the identity store's own record; nil when unknown.
    public var createdAt: Date?
    public var lastPasswordChangeAt: Date?
    public var lastSignInAt: Date?
    /// `ENABLED` or `DISABLED` as the identity store last reported it; nil when it did not say.
    public var userStatus: String?
    public var updatedAt: Date

    public init(
        userId: String, userName: String, displayName: String? = nil, identityStoreId: String, origin: UserOrigin,
        createdAt: Date? = nil, lastPasswordChangeAt: Date? = nil, lastSignInAt: Date? = nil, userStatus: String? = nil, updatedAt: Date
    ) {
        self.userId = userId
        self.userName = userName
        self.displayName = displayName
        self.identityStoreId = identityStoreId
        self.origin = origin
        self.createdAt = createdAt
        self.lastPasswordChangeAt = lastPasswordChangeAt
        self.lastSignInAt = lastSignInAt
        self.userStatus = userStatus
        self.updatedAt = updatedAt
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
