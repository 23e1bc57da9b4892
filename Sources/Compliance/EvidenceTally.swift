import FoundationEssentials

/// The newest evidence of one kind per user, as a run folds in what it reads page by page,
/// matched to registry users by `UserMatcher`.
struct EvidenceTally {
    /// What moved a date later in one page.
    struct News {
        /// Registry users (by id) with a newer date than known.
        var registered: [(userId: String, date: Date)] = []
        /// Users the registry does not hold (yet): kept in the activity ledger, so that nothing
        /// read is lost if they are registered later.
        var unregistered: [(userId: String, date: Date)] = []
    }

    /// By registry user id: the date the registry remembered, or a newer one read since.
    private(set) var newest: [String: Date]
    private var unregisteredNewest: [String: Date] = [:]
    private let registryIds: Set<String>
    private let matcher: UserMatcher

    init(users: [RegistryUser], kind: EvidenceKind) {
        newest = Dictionary(
            users.compactMap { user in (kind == .passwordChange ? user.lastPasswordChangeAt : user.lastSignInAt).map { (user.userId, $0) } }
        ) { first, _ in first }
        registryIds = Set(users.map(\.userId))
        matcher = UserMatcher(users)
    }

    /// Folds in `activity`; evidence after `limit` (a run evaluated as of an earlier time) does not count.
    mutating func add(_ activity: [UserActivity], notAfter limit: Date) -> News {
        var registered: [String: Date] = [:]
        var unregistered: [String: Date] = [:]
        for event in activity where event.time <= limit {
            if let userId = matcher.userId(id: event.userId, name: event.userName), registryIds.contains(userId) {
                if newest[userId].map({ event.time > $0 }) ?? true {
                    newest[userId] = event.time
                    registered[userId] = event.time
                }
            } else if let userId = event.userId, unregisteredNewest[userId].map({ event.time > $0 }) ?? true {
                unregisteredNewest[userId] = event.time
                unregistered[userId] = event.time
            }
        }
        return News(
            registered: registered.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            unregistered: unregistered.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
    }
}
