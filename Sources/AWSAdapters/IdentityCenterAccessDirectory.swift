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

    public func permissionSetArns() async throws -> [String] {
        try await ssoAdmin.listPermissionSets(instanceArn: instanceArn).all()
    }

    public func permissionSet(_ permissionSetArn: String) async throws -> PermissionSet {
        try await ssoAdmin.describePermissionSet(instanceArn: instanceArn, permissionSetArn: permissionSetArn)
    }

    public func accounts(provisionedWith permissionSetArn: String) async throws -> [String] {
        try await ssoAdmin.listAccountsForProvisionedPermissionSet(instanceArn: instanceArn, permissionSetArn: permissionSetArn).all()
    }

    public func assignments(accountId: String, permissionSetArn: String) async throws -> [AccountAssignment] {
        try await ssoAdmin.listAccountAssignments(instanceArn: instanceArn, accountId: accountId, permissionSetArn: permissionSetArn).all()
    }

    public func assignments(principalId: String, principalType: AccountAssignment.PrincipalType) async throws -> [AccountAssignment] {
        try await ssoAdmin.listAccountAssignmentsForPrincipal(instanceArn: instanceArn, principalId: principalId, principalType: principalType).all()
    }

    public func userIds(inGroup groupId: String) async throws -> [String] {
        try await identityStore.listGroupMemberships(identityStoreId: identityStoreId, groupId: groupId).all().compactMap(\.userId)
    }

    public func userNames() async throws -> [String: String] {
        Self.byId(try await identityStore.listUsers(identityStoreId: identityStoreId).all().map { ($0.userId, $0.userName ?? $0.userId) })
    }

    public func groupNames() async throws -> [String: String] {
        Self.byId(try await identityStore.listGroups(identityStoreId: identityStoreId).all().map { ($0.groupId, $0.displayName ?? $0.groupId) })
    }

    public func accountNames() async throws -> [String: String] {
        Self.byId(try await organizations.listAccounts().all().map { ($0.id, $0.name ?? "") })
    }

    /// A listing repeated across pages names an id twice: the first answer stands.
    private static func byId(_ pairs: [(String, String)]) -> [String: String] {
        Dictionary(pairs) { first, _ in first }
    }
}
