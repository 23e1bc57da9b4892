import AWSClient
import Compliance

/// One identity store through the Identity Store API; a user the store does not hold
/// (`ResourceNotFoundException`) is nil, not an error.
public struct IdentityStoreDirectory: UserDirectory {
    let identityStore: any IdentityStoreAPI
    let identityStoreId: String

    public init(identityStore: any IdentityStoreAPI, identityStoreId: String) {
        self.identityStore = identityStore
        self.identityStoreId = identityStoreId
    }

    public func user(_ userId: String) async throws -> IdentityStoreUser? {
        do {
            return try await identityStore.describeUser(identityStoreId: identityStoreId, userId: userId)
        } catch let error as AWSServiceError where error.code == "ResourceNotFoundException" {
            return nil
        }
    }

    public func allUsers() async throws -> [IdentityStoreUser] {
        try await identityStore.listUsers(identityStoreId: identityStoreId).all()
    }
}
