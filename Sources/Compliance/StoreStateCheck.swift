import FoundationEssentials

/// Where a user stands in the identity store now. PCI DSS asks for an inactive account to be
/// disabled or removed: once it is, there is nothing left to alert on.
public enum StoreUserState: Sendable, Hashable {
    case enabled
    case disabled
    case gone
}

/// Reads the identity store's current state of the users a judging run would flag (the
/// registry's copy is only as fresh as the last reconcile), the cheaper of two ways: one
/// `DescribeUser` per user, or one listing of the whole store at 100 users a page. Both are
/// paced under Identity Store's 20 requests a second, so the count of requests is the cost.
struct StoreStateCheck: Sendable {
    static let listPageSize = 100

    let directory: any UserDirectory

    enum Method: Equatable {
        case describeEach
        case listStore
    }

    /// `describeEach` while it takes no more requests than listing a store of `storeSize` users.
    static func cheaperMethod(users: Int, storeSize: Int) -> Method {
        let listPages = max(1, (storeSize + listPageSize - 1) / listPageSize)
        return users <= listPages ? .describeEach : .listStore
    }

    /// The state of each of `userIds`; `storeSize` is the registry's count of this store's users.
    func states(of userIds: [String], storeSize: Int) async throws -> [String: StoreUserState] {
        guard !userIds.isEmpty else { return [:] }
        switch Self.cheaperMethod(users: userIds.count, storeSize: storeSize) {
        case .describeEach:
            let states = try await mapConcurrently(userIds, limit: 8) { [directory] userId -> StoreUserState in
                try await directory.user(userId).map(Self.state(of:)) ?? .gone
            }
            return Dictionary(uniqueKeysWithValues: zip(userIds, states))
        case .listStore:
            let held = Dictionary(
                try await directory.allUsers().map { ($0.userId, Self.state(of: $0)) }
            ) { first, _ in first }
            return Dictionary(uniqueKeysWithValues: userIds.map { ($0, held[$0] ?? .gone) })
        }
    }

    /// A store that does not report a status (older API answers) leaves the user judged.
    static func state(of user: DirectoryUser) -> StoreUserState {
        user.userStatus == "DISABLED" ? .disabled : .enabled
    }
}
