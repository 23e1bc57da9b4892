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

    public func user(_ userId: String) async throws -> DirectoryUser? {
        do {
            return DirectoryUser(try await identityStore.describeUser(identityStoreId: identityStoreId, userId: userId))
        } catch let error as AWSServiceError where error.code == "ResourceNotFoundException" {
            return nil
        }
    }

    public func allUsers() async throws -> [DirectoryUser] {
        try await identityStore.listUsers(identityStoreId: identityStoreId).all().map(DirectoryUser.init)
    }
}

extension DirectoryUser {
    init(_ user: IdentityStoreUser) {
        self.init(
            userId: user.userId, userName: user.userName, displayName: user.displayName, isExternallyProvisioned: !(user.externalIds ?? []).isEmpty,
            createdAt: user.createdAt?.date, userStatus: user.userStatus)
    }
}
