/// docs/contract.md's one rule for whose an event is: the user id it carries; an old-format event
/// that carries no id, by user name, case-insensitively.
struct UserMatcher: Sendable {
    private let idsByName: [String: String]

    /// From (user name, user id) pairs; the first of two users whose names differ only in case wins.
    init(_ names: some Sequence<(userName: String, userId: String)>) {
        idsByName = Dictionary(names.map { ($0.userName.lowercased(), $0.userId) }) { first, _ in first }
    }

    init(_ users: [RegistryUser]) {
        self.init(users.lazy.map { (userName: $0.userName, userId: $0.userId) })
    }

    func userId(id: String?, name: String?) -> String? {
        id ?? name.flatMap { idsByName[$0.lowercased()] }
    }
}
