import AWSClient

/// Who can reach which account through which permission set, as the credential report reads it:
/// Identity Center's permission sets and assignments, the identity store's group members, and the
/// names of users, groups and accounts. Each call is one listing, every page of it; the report
/// decides which listings to make and how many at once.
///
/// The value types are the AWS client's own (`PermissionSet`, `AccountAssignment`): they carry
/// nothing but what the report means by them.
public protocol AccessDirectory: Sendable {
    func permissionSetArns() async throws -> [String]
    func permissionSet(_ permissionSetArn: String) async throws -> PermissionSet
    /// The accounts the permission set is provisioned to.
    func accounts(provisionedWith permissionSetArn: String) async throws -> [String]
    /// The assignments of one (account, permission set) pair.
    func assignments(accountId: String, permissionSetArn: String) async throws -> [AccountAssignment]
    /// The assignments of one user or group, to any account and permission set.
    func assignments(principalId: String, principalType: AccountAssignment.PrincipalType) async throws -> [AccountAssignment]
    /// The ids of the users in a group (members that are not users are left out).
    func userIds(inGroup groupId: String) async throws -> [String]
    /// Every user's name by id (the id where a user has no name).
    func userNames() async throws -> [String: String]
    /// Every group's display name by id (the id where a group has none).
    func groupNames() async throws -> [String: String]
    /// Every account's name by id (empty where Organizations gives none).
    func accountNames() async throws -> [String: String]
}
