import AWSClient

/// The names of users, groups and accounts by id, each listed once per run (the report's, not the
/// identity store client the registry functions call their directory).
struct DirectoryNames: Sendable {
    let users: [String: String]
    let groups: [String: String]
    let accounts: [String: String]
    let matcher: UserMatcher

    static func load(identityStore: any IdentityStoreAPI, organizations: any OrganizationsAPI, identityStoreId: String) async throws -> DirectoryNames {
        async let users = identityStore.listUsers(identityStoreId: identityStoreId).all()
        async let groups = identityStore.listGroups(identityStoreId: identityStoreId).all()
        async let accounts = organizations.listAccounts().all()
        let userNames = Dictionary(try await users.map { ($0.userId, $0.userName ?? $0.userId) }) { first, _ in first }
        return DirectoryNames(
            users: userNames,
            groups: Dictionary(try await groups.map { ($0.groupId, $0.displayName ?? $0.groupId) }) { first, _ in first },
            accounts: Dictionary(try await accounts.map { ($0.id, $0.name ?? "") }) { first, _ in first },
            matcher: UserMatcher(userNames.map { (userName: $0.value, userId: $0.key) }))
    }
}
