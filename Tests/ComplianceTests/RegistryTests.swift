import AWSClient
@testable import Compliance
import Foundation
import Logging
import Testing

let now = date("2026-11-21T06:00:00Z")

func envelope(_ detail: String) -> String {
    #"{"version":"0","id":"e","detail-type":"AWS API Call via CloudTrail","source":"aws.sso-directory","time":"2026-11-01T10:00:00Z","region":"us-east-1","detail":\#(detail)}"#
}

let consoleCreate = envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"sso-directory.amazonaws.com","eventName":"CreateUser","responseElements":{"user":{"userId":"id-console","userName":"ada"}}}"#)
let apiCreate = envelope(#"{"eventTime":"2026-11-02T10:00:00Z","eventSource":"identitystore.amazonaws.com","eventName":"CreateUser","requestParameters":{"identityStoreId":"d-1234567890","userName":"HIDDEN_DUE_TO_SECURITY_REASONS"},"responseElements":{"identityStoreId":"d-1234567890","userId":"id-api"}}"#)
let scimCreate = envelope(#"{"eventTime":"2026-11-03T10:00:00Z","eventSource":"identitystore-scim.amazonaws.com","eventName":"CreateUser","responseElements":{"id":"id-scim","active":true}}"#)

func makeWriter(registry: InMemoryRegistry, directory: [IdentityStoreUser]) throws -> RegistryWriter {
    RegistryWriter(
        configuration: try RegistryWriterConfiguration(environment: ["REGISTRY_TABLE": "t", "IDENTITY_STORE_ID": store]),
        directory: FakeIdentityStore(users: directory).asDirectory, registry: registry, logger: Logger(label: "test"), now: { now })
}

let directoryUsers = [
    IdentityStoreUser(userId: "id-console", userName: "ada", displayName: "Ada L"),
    IdentityStoreUser(userId: "id-api", userName: "bob"),
    IdentityStoreUser(userId: "id-scim", userName: "cyd", externalIds: [.init(issuer: "okta", id: "00u1")]),
]

@Suite struct RegistryWriterTests {
    @Test(arguments: [(consoleCreate, "id-console", UserOrigin.console, "2026-11-01T10:00:00Z"),
                      (apiCreate, "id-api", .api, "2026-11-02T10:00:00Z"),
                      (scimCreate, "id-scim", .scim, "2026-11-03T10:00:00Z")])
    func registersUsersFromAllThreeSources(_ event: String, _ userId: String, _ origin: UserOrigin, _ created: String) async throws {
        let registry = InMemoryRegistry()
        let change = try await makeWriter(registry: registry, directory: directoryUsers).handle(try decodeEvent(event))
        #expect(change.action == .registered)
        let entry = try #require(registry[userId])
        #expect(entry.origin == origin)
        #expect(entry.createdAt == date(created))
        #expect(entry.userName == directoryUsers.first { $0.userId == userId }?.userName)
        #expect(entry.identityStoreId == store)
    }

    @Test func replayedAndLateEventsNeverMoveCreatedAtNorTouchHistory() async throws {
        let registry = InMemoryRegistry([user("id-console", "ada", created: "2026-10-01T00:00:00Z", signIn: "2026-11-15T00:00:00Z")])
        let writer = try makeWriter(registry: registry, directory: directoryUsers)
        let earlierDated = consoleCreate.replacing("2026-11-01T10:00:00Z", with: "2026-09-01T10:00:00Z")
        for event in [consoleCreate, consoleCreate, earlierDated] {
            _ = try await writer.handle(try decodeEvent(event))
        }
        #expect(registry.count == 1)
        #expect(registry["id-console"]?.createdAt == date("2026-10-01T00:00:00Z"))
        #expect(registry["id-console"]?.lastSignInAt == date("2026-11-15T00:00:00Z"))
        #expect(registry["id-console"]?.displayName == "Ada L")
    }

    @Test func anEventAfterTheReconcileGivesTheUserItsOriginAndCreationDate() async throws {
        let registry = InMemoryRegistry([user("id-scim", "cyd", origin: .reconcile, signIn: "2026-11-15T00:00:00Z")])
        _ = try await makeWriter(registry: registry, directory: directoryUsers).handle(try decodeEvent(scimCreate))
        let entry = try #require(registry["id-scim"])
        #expect(entry.origin == .scim)
        #expect(entry.createdAt == date("2026-11-03T10:00:00Z"))
        #expect(entry.lastSignInAt == date("2026-11-15T00:00:00Z"))
    }

    @Test(arguments: [
        (envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"identitystore.amazonaws.com","eventName":"CreateUser","errorCode":"AccessDenied","errorMessage":"no"}"#), "failed in CloudTrail (AccessDenied"),
        (envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"identitystore.amazonaws.com","eventName":"CreateUser","responseElements":null}"#), "carries no user id in responseElements.userId"),
        (envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","responseElements":{"userId":"x"}}"#), "unsupported event source iam.amazonaws.com"),
        (envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"identitystore.amazonaws.com","eventName":"DeleteUser","requestParameters":{"userId":"x"}}"#), "expected a CreateUser event"),
        (envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"identitystore.amazonaws.com","eventName":"CreateUser","requestParameters":{"identityStoreId":"d-9999999999"},"responseElements":{"userId":"id-api"}}"#), "identity store d-9999999999"),
    ])
    func badEventsAreClearErrorsAndWriteNothing(_ event: String, _ message: String) async throws {
        let registry = InMemoryRegistry()
        let error = await #expect(throws: LifecycleEventError.self) {
            try await makeWriter(registry: registry, directory: directoryUsers).handle(try decodeEvent(event))
        }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        #expect(registry.count == 0)
    }

    @Test func userAlreadyGoneFromTheStoreIsSkipped() async throws {
        let registry = InMemoryRegistry()
        let change = try await makeWriter(registry: registry, directory: []).handle(try decodeEvent(consoleCreate))
        #expect(change.action == .skipped)
        #expect(registry.count == 0)
    }

    @Test func reconcileAddsMissingUsersWithoutInventingCreationDates() async throws {
        let registry = InMemoryRegistry([user("id-console", "old-name", created: "2026-10-01T00:00:00Z", password: "2026-10-02T00:00:00Z")])
        let storeUsers = directoryUsers + [
            IdentityStoreUser(userId: "id-dated", userName: "dee", createdAt: AWSTimestamp(date("2024-03-01T00:00:00Z"))),
        ]
        let change = try await makeWriter(registry: registry, directory: storeUsers).handle(.reconcile)

        #expect(change.action == .reconciled)
        #expect((change.storeUsers, change.registryUsers, change.added, change.refreshed) == (4, 1, 3, 1))
        #expect(registry["id-api"]?.origin == .reconcile)
        #expect(registry["id-api"]?.createdAt == nil, "never the time of the reconcile")
        #expect(registry["id-scim"]?.origin == .scim, "ExternalIds mean an external identity provider")
        #expect(registry["id-dated"]?.createdAt == date("2024-03-01T00:00:00Z"))
        let renamed = try #require(registry["id-console"])
        #expect(renamed.userName == "ada")
        #expect(renamed.origin == .console)
        #expect(renamed.createdAt == date("2026-10-01T00:00:00Z"))
        #expect(renamed.lastPasswordChangeAt == date("2026-10-02T00:00:00Z"))
    }

    @Test func reconcileRecordsAndRefreshesTheStoresUserStatusAndLeavesItWhenTheStoreIsSilent() async throws {
        var known = user("id-known", "kim")
        known.userStatus = "ENABLED"
        var silent = user("id-silent", "sam")
        silent.userStatus = "DISABLED"
        let registry = InMemoryRegistry([known, silent])
        let storeUsers = [
            IdentityStoreUser(userId: "id-known", userName: "kim", userStatus: "DISABLED"),
            IdentityStoreUser(userId: "id-silent", userName: "sam"),
            IdentityStoreUser(userId: "id-new", userName: "nia", userStatus: "ENABLED"),
        ]
        let change = try await makeWriter(registry: registry, directory: storeUsers).handle(.reconcile)

        #expect((change.added, change.refreshed) == (1, 1))
        #expect(registry["id-known"]?.userStatus == "DISABLED")
        #expect(registry["id-silent"]?.userStatus == "DISABLED", "a store that does not say changes nothing")
        #expect(registry["id-new"]?.userStatus == "ENABLED")
    }

    @Test func scheduledEventAndReconcileFlagBothAskForAReconcile() throws {
        guard case .reconcile = try decodeEvent(#"{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}"#, as: RegistryTrigger.self) else {
            Issue.record("a Scheduled Event is a reconcile"); return
        }
        guard case .reconcile = try decodeEvent(#"{"reconcile": true}"#, as: RegistryTrigger.self) else {
            Issue.record("{reconcile: true} is a reconcile"); return
        }
        #expect(throws: DecodingError.self) { try decodeEvent(#"{"reconcile": false}"#, as: RegistryTrigger.self) }
        #expect(throws: DecodingError.self) { try decodeEvent(#"{"hello": "world"}"#, as: RegistryTrigger.self) }
    }
}

func makeCleaner(registry: InMemoryRegistry, directory: [IdentityStoreUser], maxPercent: String = "10") throws -> RegistryCleaner {
    RegistryCleaner(
        configuration: try RegistryCleanerConfiguration(environment: [
            "REGISTRY_TABLE": "t", "IDENTITY_STORE_ID": store, "RECONCILE_MAX_REMOVE_PERCENT": maxPercent,
        ]),
        directory: FakeIdentityStore(users: directory).asDirectory, registry: registry, logger: Logger(label: "test"))
}

@Suite struct RegistryCleanerTests {
    @Test(arguments: ["sso-directory.amazonaws.com", "identitystore.amazonaws.com", "identitystore-scim.amazonaws.com"])
    func removesTheUserADeleteUserNames(_ source: String) async throws {
        let registry = InMemoryRegistry([user("id-1", "one"), user("id-2", "two")])
        let event = envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"\#(source)","eventName":"DeleteUser","requestParameters":{"userId":"id-1"}}"#)
        let change = try await makeCleaner(registry: registry, directory: []).handle(try decodeEvent(event))
        #expect(change.action == .removed)
        #expect(registry["id-1"] == nil)
        #expect(registry["id-2"] != nil)
    }

    @Test func deletingAnUnknownUserSucceeds() async throws {
        let event = envelope(#"{"eventTime":"2026-11-01T10:00:00Z","eventSource":"identitystore.amazonaws.com","eventName":"DeleteUser","requestParameters":{"userId":"nobody"}}"#)
        let change = try await makeCleaner(registry: InMemoryRegistry(), directory: []).handle(try decodeEvent(event))
        #expect(change.action == .skipped)
    }

    @Test func reconcileRemovesUsersGoneFromTheStoreAndNothingElse() async throws {
        var registered = (0..<20).map { user("id-\($0)", "u\($0)") }
        var foreign = user("id-foreign", "x")
        foreign.identityStoreId = "d-9999999999"
        registered.append(foreign)
        let registry = InMemoryRegistry(registered)
        let present = (0..<18).map { IdentityStoreUser(userId: "id-\($0)", userName: "u\($0)") }

        let change = try await makeCleaner(registry: registry, directory: present).handle(.reconcile)

        #expect(change.removed == 2)
        #expect(registry["id-18"] == nil && registry["id-19"] == nil)
        #expect(registry["id-foreign"] == foreign, "another store's item stays exactly as it was")
        #expect(registry.count == 19)
    }

    @Test func safetyStopRemovesNothingWhenTooMuchWouldGo() async throws {
        let registry = InMemoryRegistry((0..<20).map { user("id-\($0)", "u\($0)") })
        let present = (0..<17).map { IdentityStoreUser(userId: "id-\($0)", userName: "u\($0)") }
        let stop = await #expect(throws: ReconcileSafetyStop.self) {
            try await makeCleaner(registry: registry, directory: present).handle(.reconcile)
        }
        #expect(stop?.description.contains("3 of 20 registry users (15.0 %)") == true)
        #expect(registry.count == 20)
        let exactlyAtTheLimit = try await makeCleaner(registry: registry, directory: present, maxPercent: "15").handle(.reconcile)
        #expect(exactlyAtTheLimit.removed == 3, "15 % is not strictly more than 15 %")
    }
}
