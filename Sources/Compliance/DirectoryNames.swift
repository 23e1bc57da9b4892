/// The names of users, groups and accounts by id, each listed once per report run.
struct DirectoryNames: Sendable {
    let users: [String: String]
    let groups: [String: String]
    let accounts: [String: String]
    let matcher: UserMatcher

    static func load(from directory: any AccessDirectory) async throws -> DirectoryNames {
        async let users = directory.userNames()
        async let groups = directory.groupNames()
        async let accounts = directory.accountNames()
        let userNames = try await users
        return DirectoryNames(
            users: userNames, groups: try await groups, accounts: try await accounts,
            matcher: UserMatcher(userNames.map { (userName: $0.value, userId: $0.key) }))
    }
}
