import FoundationEssentials

public struct IdentityStoreUser: Sendable, Hashable, Decodable {
    public struct ExternalId: Sendable, Hashable, Decodable {
        public let issuer: String
        public let id: String

        public init(issuer: String, id: String) {
            self.issuer = issuer
            self.id = id
        }

        enum CodingKeys: String, CodingKey { case issuer = "Issuer", id = "Id" }
    }

    public let userId: String
    public let userName: String?
    public let displayName: String?
    public let externalIds: [ExternalId]?
    /// Reported by newer versions of the API; absent from older answers.
    public let createdAt: AWSTimestamp?
    /// `ENABLED` or `DISABLED`, reported since November 2025; absent from older answers.
    public let userStatus: String?

    public init(
        userId: String, userName: String?, displayName: String? = nil, externalIds: [ExternalId]? = nil, createdAt: AWSTimestamp? = nil,
        userStatus: String? = nil
    ) {
        self.userId = userId
        self.userName = userName
        self.displayName = displayName
        self.externalIds = externalIds
        self.createdAt = createdAt
        self.userStatus = userStatus
    }

    enum CodingKeys: String, CodingKey {
        case userId = "UserId", userName = "UserName", displayName = "DisplayName", externalIds = "ExternalIds"
        case createdAt = "CreatedAt", userStatus = "UserStatus"
    }
}

public struct IdentityStoreGroup: Sendable, Hashable, Decodable {
    public let groupId: String
    public let displayName: String?

    public init(groupId: String, displayName: String?) {
        self.groupId = groupId
        self.displayName = displayName
    }

    enum CodingKeys: String, CodingKey { case groupId = "GroupId", displayName = "DisplayName" }
}

public struct GroupMembership: Sendable, Hashable, Decodable {
    public let groupId: String
    /// Nil when the member is not a user.
    public let userId: String?

    public init(groupId: String, userId: String?) {
        self.groupId = groupId
        self.userId = userId
    }

    private struct MemberId: Decodable { let UserId: String? }
    enum CodingKeys: String, CodingKey { case groupId = "GroupId", memberId = "MemberId" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        groupId = try container.decode(String.self, forKey: .groupId)
        userId = try container.decodeIfPresent(MemberId.self, forKey: .memberId)?.UserId
    }
}

public protocol IdentityStoreAPI: Sendable {
    func describeUser(identityStoreId: String, userId: String) async throws -> IdentityStoreUser
    func listUsers(identityStoreId: String) -> Paginator<IdentityStoreUser, String>
    func listGroups(identityStoreId: String) -> Paginator<IdentityStoreGroup, String>
    func listGroupMemberships(identityStoreId: String, groupId: String) -> Paginator<GroupMembership, String>
}

public struct IdentityStoreClient: IdentityStoreAPI {
    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    public func describeUser(identityStoreId: String, userId: String) async throws -> IdentityStoreUser {
        struct Input: Encodable { let IdentityStoreId: String; let UserId: String }
        return try await client.json(.identityStore, "DescribeUser", Input(IdentityStoreId: identityStoreId, UserId: userId))
    }

    public func listUsers(identityStoreId: String) -> Paginator<IdentityStoreUser, String> {
        struct Output: Decodable { let Users: [IdentityStoreUser]?; let NextToken: String? }
        return Paginator("IdentityStore ListUsers") { [client] token in
            let page = try await client.json(.identityStore, "ListUsers", StoreInput(identityStoreId, token), as: Output.self)
            return (page.Users ?? [], page.NextToken)
        }
    }

    public func listGroups(identityStoreId: String) -> Paginator<IdentityStoreGroup, String> {
        struct Output: Decodable { let Groups: [IdentityStoreGroup]?; let NextToken: String? }
        return Paginator("IdentityStore ListGroups") { [client] token in
            let page = try await client.json(.identityStore, "ListGroups", StoreInput(identityStoreId, token), as: Output.self)
            return (page.Groups ?? [], page.NextToken)
        }
    }

    public func listGroupMemberships(identityStoreId: String, groupId: String) -> Paginator<GroupMembership, String> {
        struct Input: Encodable { let IdentityStoreId: String; let GroupId: String; let MaxResults = 100; let NextToken: String? }
        return Paginator("IdentityStore ListGroupMemberships") { [client] token in
            let input = Input(IdentityStoreId: identityStoreId, GroupId: groupId, NextToken: token)
            let page = try await client.json(.identityStore, "ListGroupMemberships", input, as: MembershipsOutput.self)
            return (page.GroupMemberships ?? [], page.NextToken)
        }
    }

    private struct StoreInput: Encodable {
        let IdentityStoreId: String
        let MaxResults = 100
        let NextToken: String?
        init(_ identityStoreId: String, _ token: String?) {
            IdentityStoreId = identityStoreId
            NextToken = token
        }
    }

    private struct MembershipsOutput: Decodable { let GroupMemberships: [GroupMembership]?; let NextToken: String? }
}
