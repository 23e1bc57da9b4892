import FoundationEssentials
import Logging

public struct RegistryCleanerConfiguration: Sendable {
    public let table: String
    public let identityStoreId: String
    /// A reconcile that would remove strictly more than this share of the registry removes nothing.
    public let maxRemovePercent: Int

    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        table = try reader.required("REGISTRY_TABLE")
        identityStoreId = try reader.identityStoreId()
        maxRemovePercent = try reader.integer("RECONCILE_MAX_REMOVE_PERCENT", default: 10, in: 0...100)
    }
}

/// registry-cleaner: removes users as DeleteUser events announce them, and on a schedule removes
/// registry users gone from the identity store, with a safety stop against a wrong store id.
public struct RegistryCleaner: Sendable {
    let configuration: RegistryCleanerConfiguration
    let directory: any UserDirectory
    let registry: any Registry
    let logger: Logger

    public init(configuration: RegistryCleanerConfiguration, directory: any UserDirectory, registry: any Registry, logger: Logger) {
        self.configuration = configuration
        self.directory = directory
        self.registry = registry
        self.logger = logger
    }

    public func handle(_ trigger: RegistryTrigger) async throws -> RegistryChange {
        switch trigger {
        case .cloudTrail(let record):
            let event = try UserLifecycleEvent(record, expected: .delete, identityStoreId: configuration.identityStoreId)
            guard try await registry.remove(userId: event.userId) else {
                var change = RegistryChange(.skipped, userId: event.userId)
                change.reason = "the user was not in the registry"
                logger.info("DeleteUser for \(event.userId): not in the registry, nothing to remove")
                return change
            }
            logger.info("Removed \(event.userId) from the registry")
            return RegistryChange(.removed, userId: event.userId)
        case .reconcile:
            return try await reconcile()
        }
    }

    private func reconcile() async throws -> RegistryChange {
        let store = configuration.identityStoreId
        // Items of another store are not this function's to judge: they stay exactly as they are.
        let registered = try await registry.allUsers().filter { $0.identityStoreId == store }
        let present = Set(try await directory.allUsers().map(\.userId))
        let stale = registered.filter { !present.contains($0.userId) }

        if stale.count * 100 > configuration.maxRemovePercent * registered.count {
            throw ReconcileSafetyStop(
                wouldRemove: stale.count, registrySize: registered.count, limitPercent: configuration.maxRemovePercent, identityStoreId: store)
        }
        let removed = Counter()
        try await forEachConcurrently(stale.map(\.userId), limit: 8) { userId in
            if try await registry.remove(userId: userId) { removed.add() }
        }
        var change = RegistryChange(.reconciled)
        change.storeUsers = present.count
        change.registryUsers = registered.count
        change.removed = removed.value
        logger.info("Reconciled registry with identity store \(store): \(registered.count) registered, \(removed.value) removed as gone from the store")
        return change
    }
}

/// The reconcile would remove too much of the registry: it removed nothing.
public struct ReconcileSafetyStop: Error, CustomStringConvertible {
    public let wouldRemove: Int
    public let registrySize: Int
    public let limitPercent: Int
    public let identityStoreId: String

    public var description: String {
        let share = registrySize == 0 ? 0 : (Double(wouldRemove * 1000) / Double(registrySize)).rounded() / 10
        return "Reconcile would remove \(wouldRemove) of \(registrySize) registry users (\(share) %), more than "
            + "RECONCILE_MAX_REMOVE_PERCENT=\(limitPercent) %; removed nothing. Check that IDENTITY_STORE_ID "
            + "(\(identityStoreId)) is the right identity store."
    }
}
