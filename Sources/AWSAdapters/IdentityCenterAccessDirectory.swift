import AWSClient
import Compliance

/// The credential report's view of Identity Center: SSO Admin for permission sets and
/// assignments, Identity Store for users, groups and members, Organizations for account names.
public struct IdentityCenterAccessDirectory: AccessDirectory {
    let ssoAdmin: any SSOAdminAPI
    let identityStore: any IdentityStoreAPI
    let organizations: any OrganizationsAPI
    let instanceArn: String
    let identityStoreId: String

    public init(
        ssoAdmin: any SSOAdminAPI, identityStore: any IdentityStoreAPI, organizations: any OrganizationsAPI, instanceArn: String,
        identityStoreId: String
    ) {
        self.ssoAdmin = ssoAdmin
        self.identityStore = identityStore
        self.organizations = organizations
        self.instanceArn = instanceArn
        self.identityStoreId = identityStoreId
    }

    public func permissionSetArns(after token: String?) async throws -> ListingPage<String> {
        try await page(ssoAdmin.listPermissionSets(instanceArn: instanceArn), after: token)
    }

    public func permissionSet(_ permissionSetArn: String) async throws -> PermissionSet {
        try await ssoAdmin.describePermissionSet(instanceArn: instanceArn, permissionSetArn: permissionSetArn)
    }

    public func accounts(provisionedWith permissionSetArn: String, after token: String?) async throws -> ListingPage<String> {
        try await page(ssoAdmin.listAccountsForProvisionedPermissionSet(instanceArn: instanceArn, permissionSetArn: permissionSetArn), after: token)
    }

    public func assignments(accountId: String, permissionSetArn: String, after token: String?) async throws -> ListingPage<AccountAssignment> {
        try await page(ssoAdmin.listAccountAssignments(instanceArn: instanceArn, accountId: accountId, permissionSetArn: permissionSetArn), after: token)
    }

    public func assignments(
        principalId: String, principalType: AccountAssignment.PrincipalType, after token: String?
    ) async throws -> ListingPage<AccountAssignment> {
        try await page(
            ssoAdmin.listAccountAssignmentsForPrincipal(instanceArn: instanceArn, principalId: principalId, principalType: principalType),
            after: token)
    }

    public func userIds(inGroup groupId: String, after token: String?) async throws -> ListingPage<String> {
        let members = try await page(identityStore.listGroupMemberships(identityStoreId: identityStoreId, groupId: groupId), after: token)
        return ListingPage(items: members.items.compactMap(\.userId), next: members.next)
    }

    public func users(after token: String?) async throws -> ListingPage<NamedEntry> {
        let users = try await page(identityStore.listUsers(identityStoreId: identityStoreId), after: token)
        return ListingPage(items: users.items.map { NamedEntry(id: $0.userId, name: $0.userName ?? $0.userId) }, next: users.next)
    }

    public func groups(after token: String?) async throws -> ListingPage<NamedEntry> {
        let groups = try await page(identityStore.listGroups(identityStoreId: identityStoreId), after: token)
        return ListingPage(items: groups.items.map { NamedEntry(id: $0.groupId, name: $0.displayName ?? $0.groupId) }, next: groups.next)
    }

    public func accounts(after token: String?) async throws -> ListingPage<NamedEntry> {
        let accounts = try await page(organizations.listAccounts(), after: token)
        return ListingPage(items: accounts.items.map { NamedEntry(id: $0.id, name: $0.name ?? "") }, next: accounts.next)
    }

    private func page<Item>(_ listing: Paginator<Item, String>, after token: String?) async throws -> ListingPage<Item> {
        let page = try await listing.page(after: token)
        return ListingPage(items: page.items, next: page.next)
    }
}
