import AWSClient

/// Who can reach which account through which permission set, as the credential report reads it:
/// Identity Center's permission sets and assignments, the identity store's group members, and the
/// names of users, groups and accounts. Every listing is read a page at a time, from the token a
/// previous page gave (nil for the first), so that a report can stop between pages and go on
/// from there in a later invocation; the report decides which listings to read and how many at once.
///
/// The value types are the AWS client's own (`PermissionSet`, `AccountAssignment`): they carry
/// nothing but what the report means by them.
public protocol AccessDirectory: Sendable {
    func permissionSetArns(after token: String?) async throws -> ListingPage<String>
    func permissionSet(_ permissionSetArn: String) async throws -> PermissionSet
    /// The accounts the permission set is provisioned to.
    func accounts(provisionedWith permissionSetArn: String, after token: String?) async throws -> ListingPage<String>
    /// The assignments of one (account, permission set) pair.
    func assignments(accountId: String, permissionSetArn: String, after token: String?) async throws -> ListingPage<AccountAssignment>
    /// The assignments of one user or group, to any account and permission set.
    func assignments(
        principalId: String, principalType: AccountAssignment.PrincipalType, after token: String?
    ) async throws -> ListingPage<AccountAssignment>
    /// The ids of the users in a group (members that are not users are left out).
    func userIds(inGroup groupId: String, after token: String?) async throws -> ListingPage<String>
    /// Users by id and name (the id where a user has no name).
    func users(after token: String?) async throws -> ListingPage<NamedEntry>
    /// Groups by id and display name (the id where a group has none).
    func groups(after token: String?) async throws -> ListingPage<NamedEntry>
    /// Accounts by id and name (empty where Organizations gives none).
    func accounts(after token: String?) async throws -> ListingPage<NamedEntry>
}

/// One page of a listing, and the token of the next page (nil after the last).
public struct ListingPage<Item: Sendable>: Sendable {
    public let items: [Item]
    public let next: String?

    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }
}

/// A user, group or account, by id and name.
public struct NamedEntry: Sendable, Codable, Hashable {
    public let id: String
    public let name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
}
