import FoundationEssentials

/// The identity store's users, as the registry functions and the monitors read them.
public protocol UserDirectory: Sendable {
    /// The user; nil when the store no longer holds it.
    func user(_ userId: String) async throws -> DirectoryUser?
    /// Every user of the store.
    func allUsers() async throws -> [DirectoryUser]
}

/// A user of the identity store, as the directory reports it.
public struct DirectoryUser: Sendable, Hashable {
    public let userId: String
    public let userName: String?
    public let displayName: String?
    /// Whether an external identity provider provisions the user (SCIM): it carries an external id.
    public let isExternallyProvisioned: Bool
    /// Absent from older answers of the Identity Store API.
    public let createdAt: Date?
    /// `ENABLED` or `DISABLED`; absent from answers older than November 2025.
    public let userStatus: String?

    public init(
        userId: String, userName: String?, displayName: String? = nil, isExternallyProvisioned: Bool = false, createdAt: Date? = nil,
        userStatus: String? = nil
    ) {
        self.userId = userId
        self.userName = userName
        self.displayName = displayName
        self.isExternallyProvisioned = isExternallyProvisioned
        self.createdAt = createdAt
        self.userStatus = userStatus
    }
}
