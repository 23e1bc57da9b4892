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
