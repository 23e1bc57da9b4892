public struct PermissionSet: Sendable, Hashable, Codable {
    public let permissionSetArn: String
    public let name: String
    public let description: String?

    public init(permissionSetArn: String, name: String, description: String?) {
        self.permissionSetArn = permissionSetArn
        self.name = name
        self.description = description
    }

    enum CodingKeys: String, CodingKey { case permissionSetArn = "PermissionSetArn", name = "Name", description = "Description" }
}

public struct AccountAssignment: Sendable, Hashable, Codable {
    public enum PrincipalType: String, Sendable, Hashable, Codable { case user = "USER", group = "GROUP" }

    public let accountId: String
    public let permissionSetArn: String
    public let principalType: PrincipalType
    public let principalId: String

    public init(accountId: String, permissionSetArn: String, principalType: PrincipalType, principalId: String) {
        self.accountId = accountId
        self.permissionSetArn = permissionSetArn
        self.principalType = principalType
        self.principalId = principalId
    }

    enum CodingKeys: String, CodingKey {
        case accountId = "AccountId", permissionSetArn = "PermissionSetArn", principalType = "PrincipalType", principalId = "PrincipalId"
    }
}

public protocol SSOAdminAPI: Sendable {
    func listPermissionSets(instanceArn: String) -> Paginator<String, String>
    func describePermissionSet(instanceArn: String, permissionSetArn: String) async throws -> PermissionSet
    func listAccountsForProvisionedPermissionSet(instanceArn: String, permissionSetArn: String) -> Paginator<String, String>
    func listAccountAssignments(instanceArn: String, accountId: String, permissionSetArn: String) -> Paginator<AccountAssignment, String>
    func listAccountAssignmentsForPrincipal(
        instanceArn: String, principalId: String, principalType: AccountAssignment.PrincipalType
    ) -> Paginator<AccountAssignment, String>
}

public struct SSOAdminClient: SSOAdminAPI {
    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    public func listPermissionSets(instanceArn: String) -> Paginator<String, String> {
        struct Input: Encodable { let InstanceArn: String; let MaxResults = 100; let NextToken: String? }
        struct Output: Decodable { let PermissionSets: [String]?; let NextToken: String? }
        return Paginator("SSO Admin ListPermissionSets") { [client] token in
            let page = try await client.json(.ssoAdmin, "ListPermissionSets", Input(InstanceArn: instanceArn, NextToken: token), as: Output.self)
            return (page.PermissionSets ?? [], page.NextToken)
        }
    }

    public func describePermissionSet(instanceArn: String, permissionSetArn: String) async throws -> PermissionSet {
        struct Input: Encodable { let InstanceArn: String; let PermissionSetArn: String }
        struct Output: Decodable { let PermissionSet: PermissionSet }
        return try await client.json(
            .ssoAdmin, "DescribePermissionSet", Input(InstanceArn: instanceArn, PermissionSetArn: permissionSetArn), as: Output.self
        ).PermissionSet
    }

    public func listAccountsForProvisionedPermissionSet(instanceArn: String, permissionSetArn: String) -> Paginator<String, String> {
        struct Input: Encodable { let InstanceArn: String; let PermissionSetArn: String; let MaxResults = 100; let NextToken: String? }
        struct Output: Decodable { let AccountIds: [String]?; let NextToken: String? }
        return Paginator("SSO Admin ListAccountsForProvisionedPermissionSet") { [client] token in
            let input = Input(InstanceArn: instanceArn, PermissionSetArn: permissionSetArn, NextToken: token)
            let page = try await client.json(.ssoAdmin, "ListAccountsForProvisionedPermissionSet", input, as: Output.self)
            return (page.AccountIds ?? [], page.NextToken)
        }
    }

    public func listAccountAssignments(instanceArn: String, accountId: String, permissionSetArn: String) -> Paginator<AccountAssignment, String> {
        struct Input: Encodable { let InstanceArn: String; let AccountId: String; let PermissionSetArn: String; let MaxResults = 100; let NextToken: String? }
        return Paginator("SSO Admin ListAccountAssignments") { [client] token in
            let input = Input(InstanceArn: instanceArn, AccountId: accountId, PermissionSetArn: permissionSetArn, NextToken: token)
            let page = try await client.json(.ssoAdmin, "ListAccountAssignments", input, as: AssignmentsOutput.self)
            return (page.AccountAssignments ?? [], page.NextToken)
        }
    }

    public func listAccountAssignmentsForPrincipal(
        instanceArn: String, principalId: String, principalType: AccountAssignment.PrincipalType
    ) -> Paginator<AccountAssignment, String> {
        struct Input: Encodable { let InstanceArn: String; let PrincipalId: String; let PrincipalType: String; let MaxResults = 100; let NextToken: String? }
        return Paginator("SSO Admin ListAccountAssignmentsForPrincipal") { [client] token in
            let input = Input(InstanceArn: instanceArn, PrincipalId: principalId, PrincipalType: principalType.rawValue, NextToken: token)
            let page = try await client.json(.ssoAdmin, "ListAccountAssignmentsForPrincipal", input, as: AssignmentsOutput.self)
            return (page.AccountAssignments ?? [], page.NextToken)
        }
    }

    private struct AssignmentsOutput: Decodable { let AccountAssignments: [AccountAssignment]?; let NextToken: String? }
}
