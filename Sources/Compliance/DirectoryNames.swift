/// The names of users, groups and accounts by id, each listed once per report run.
struct DirectoryNames: Sendable {
    let users: [String: String]
    let groups: [String: String]
    let accounts: [String: String]
    let matcher: UserMatcher

    /// A listing repeated across pages names an id twice: the first answer stands.
    init(users: [NamedEntry], groups: [NamedEntry], accounts: [NamedEntry]) {
        func byId(_ entries: [NamedEntry]) -> [String: String] {
            Dictionary(entries.map { ($0.id, $0.name) }) { first, _ in first }
        }
        self.users = byId(users)
        self.groups = byId(groups)
        self.accounts = byId(accounts)
        matcher = UserMatcher(self.users.map { (userName: $0.value, userId: $0.key) })
    }
}
