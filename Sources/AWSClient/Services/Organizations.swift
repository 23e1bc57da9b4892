public struct OrganizationAccount: Sendable, Hashable, Decodable {
    public let id: String
    public let name: String?

    public init(id: String, name: String?) {
        self.id = id
        self.name = name
    }

    enum CodingKeys: String, CodingKey { case id = "Id", name = "Name" }
}

public protocol OrganizationsAPI: Sendable {
    func listAccounts() -> Paginator<OrganizationAccount, String>
}

public struct OrganizationsClient: OrganizationsAPI {
    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    public func listAccounts() -> Paginator<OrganizationAccount, String> {
        struct Input: Encodable { let MaxResults = 20; let NextToken: String? }
        struct Output: Decodable { let Accounts: [OrganizationAccount]?; let NextToken: String? }
        return Paginator("Organizations ListAccounts") { [client] token in
            let page = try await client.json(.organizations, "ListAccounts", Input(NextToken: token), as: Output.self)
            return (page.Accounts ?? [], page.NextToken)
        }
    }
}
