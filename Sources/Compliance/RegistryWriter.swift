import FoundationEssentials
import Logging

public struct RegistryWriterConfiguration: Sendable {
    public let table: String
    public let identityStoreId: String

    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        table = try reader.required("REGISTRY_TABLE")
        identityStoreId = try reader.identityStoreId()
    }
}

/// What an invocation of the writer or the cleaner did.
public struct RegistryChange: Sendable, Encodable {
    public enum Action: String, Sendable, Encodable {
        case registered, removed, skipped, reconciled
    }

    public var action: Action
    public var userId: String?
    public var origin: UserOrigin?
    public var reason: String?
    public var storeUsers: Int?
    public var registryUsers: Int?
    public var added: Int?
    public var refreshed: Int?
    public var removed: Int?

    init(_ action: Action, userId: String? = nil) {
        self.action = action
        self.userId = userId
    }
}

/// registry-writer: records users as CreateUser events announce them, and on a schedule adds
/// every user of the identity store that the registry lacks (events are delivered best effort).
public struct RegistryWriter: Sendable {
    let configuration: RegistryWriterConfiguration
    let directory: any UserDirectory
    let registry: any Registry
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        configuration: RegistryWriterConfiguration, directory: any UserDirectory, registry: any Registry, logger: Logger,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.directory = directory
        self.registry = registry
        self.logger = logger
        self.now = now
    }

    public func handle(_ trigger: RegistryTrigger) async throws -> RegistryChange {
        switch trigger {
        case .cloudTrail(let record):
            return try await register(UserLifecycleEvent(record, expected: .create, identityStoreId: configuration.identityStoreId))
        case .reconcile:
            return try await reconcile()
        }
    }

    private func register(_ event: UserLifecycleEvent) async throws -> RegistryChange {
        guard let user = try await directory.user(event.userId) else {
            var change = RegistryChange(.skipped, userId: event.userId)
            change.reason = "the user is no longer in identity store \(configuration.identityStoreId)"
            logger.info("Skipped CreateUser for \(event.userId): \(change.reason!)")
            return change
        }
        try await registry.register(RegistryUser(
            userId: event.userId, userName: user.userName ?? event.userId, displayName: user.displayName,
            identityStoreId: configuration.identityStoreId, origin: event.origin, createdAt: event.eventTime, userStatus: user.userStatus,
            updatedAt: now()))
        logger.info("Registered \(user.userName ?? event.userId) (\(event.userId)), origin \(event.origin.rawValue)")
        var change = RegistryChange(.registered, userId: event.userId)
        change.origin = event.origin
        return change
    }

    private func reconcile() async throws -> RegistryChange {
        let known = Dictionary(try await registry.allUsers().map { ($0.userId, $0) }) { first, _ in first }
        let storeUsers = try await directory.allUsers()
        let timestamp = now()
        let missing = storeUsers.filter { known[$0.userId] == nil }
        let changed = storeUsers.filter { user in
            guard let entry = known[user.userId] else { return false }
            return entry.userName != (user.userName ?? user.userId) || entry.displayName != user.displayName
                || (user.userStatus != nil && entry.userStatus != user.userStatus)
        }
        let store = configuration.identityStoreId
        let added = Counter()
        try await forEachConcurrently(missing, limit: 8) { user in
            let entry = RegistryUser(
                userId: user.userId, userName: user.userName ?? user.userId, displayName: user.displayName,
                identityStoreId: store, origin: user.isExternallyProvisioned ? .scim : .reconcile,
                createdAt: user.createdAt, userStatus: user.userStatus, updatedAt: timestamp)
            if try await registry.addIfMissing(entry) { added.add() }
        }
        let refreshed = Counter()
        try await forEachConcurrently(changed, limit: 8) { user in
            let updated = try await registry.refresh(
                userId: user.userId, userName: user.userName ?? user.userId, displayName: user.displayName, userStatus: user.userStatus,
                updatedAt: timestamp)
            if updated { refreshed.add() }
        }
        var change = RegistryChange(.reconciled)
        change.storeUsers = storeUsers.count
        change.registryUsers = known.count
        change.added = added.value
        change.refreshed = refreshed.value
        logger.info(
            "Reconciled registry with identity store \(store): \(storeUsers.count) in the store, \(known.count) in the registry, \(added.value) added, \(refreshed.value) refreshed")
        return change
    }
}
