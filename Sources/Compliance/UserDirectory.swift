import AWSClient

/// The identity store's users, as the registry functions and the monitors read them.
public protocol UserDirectory: Sendable {
    /// The user; nil when the store no longer holds it.
    func user(_ userId: String) async throws -> IdentityStoreUser?
    /// Every user of the store.
    func allUsers() async throws -> [IdentityStoreUser]
}
