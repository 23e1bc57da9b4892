import AWSClient
@testable import Compliance
import Foundation
import Synchronization

/// The registry's semantics (DESIGN.md) in memory; the DynamoDB one is proven against moto.
final class InMemoryRegistry: Registry {
    let users: Mutex<[String: RegistryUser]>

    init(_ users: [RegistryUser] = []) {
        self.users = Mutex(Dictionary(uniqueKeysWithValues: users.map { ($0.userId, $0) }))
    }

    subscript(userId: String) -> RegistryUser? { users.withLock { $0[userId] } }
    var count: Int { users.withLock { $0.count } }

    func register(_ user: RegistryUser) async throws {
        users.withLock { users in
            var entry = users[user.userId] ?? user
            entry.userName = user.userName
            entry.displayName = user.displayName
            entry.identityStoreId = user.identityStoreId
            entry.updatedAt = user.updatedAt
            entry.userStatus = user.userStatus ?? entry.userStatus
            if entry.origin == .reconcile { entry.origin = user.origin }
            entry.createdAt = entry.createdAt ?? user.createdAt
            users[user.userId] = entry
        }
    }

    func addIfMissing(_ user: RegistryUser) async throws -> Bool {
        users.withLock { users in
            guard users[user.userId] == nil else { return false }
            users[user.userId] = user
            return true
        }
    }

    func refresh(userId: String, userName: String, displayName: String?, userStatus: String?, updatedAt: Date) async throws -> Bool {
        users.withLock { users in
            guard users[userId] != nil else { return false }
            users[userId]!.userName = userName
            users[userId]!.displayName = displayName
            users[userId]!.userStatus = userStatus ?? users[userId]!.userStatus
            users[userId]!.updatedAt = updatedAt
            return true
        }
    }

    func remove(userId: String) async throws -> Bool {
        users.withLock { $0.removeValue(forKey: userId) != nil }
    }

    func allUsers() async throws -> [RegistryUser] {
        users.withLock { Array($0.values) }
    }

    func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws {
        users.withLock { users in
            guard var user = users[userId] else { return }
            switch kind {
            case .passwordChange where user.lastPasswordChangeAt.map({ $0 < date }) ?? true: user.lastPasswordChangeAt = date
            case .signIn where user.lastSignInAt.map({ $0 < date }) ?? true: user.lastSignInAt = date
            default: return
            }
            user.updatedAt = updatedAt
            users[userId] = user
        }
    }
}

/// The operations a fake was asked for, in order.
final class CallLog: Sendable {
    let calls = Mutex<[String]>([])
    var all: [String] { calls.withLock { $0 } }
    func note(_ operation: String) { calls.withLock { $0.append(operation) } }
}

struct FakeIdentityStore: IdentityStoreAPI {
    var users: [IdentityStoreUser]
    let log = CallLog()

    /// A store holding every user of `registry`, enabled.
    init(enabling registry: InMemoryRegistry) {
        users = registry.users.withLock { $0.values.map { IdentityStoreUser(userId: $0.userId, userName: $0.userName, userStatus: "ENABLED") } }
    }

    init(users: [IdentityStoreUser]) {
        self.users = users
    }

    func describeUser(identityStoreId: String, userId: String) async throws -> IdentityStoreUser {
        log.note("DescribeUser")
        guard let user = users.first(where: { $0.userId == userId }) else {
            throw AWSServiceError(service: "IDENTITYSTORE", operation: "DescribeUser", code: "ResourceNotFoundException", message: "USER not found.", requestId: nil, httpStatus: 400)
        }
        return user
    }

    func listUsers(identityStoreId: String) -> Paginator<IdentityStoreUser, String> {
        let pages = stride(from: 0, to: max(users.count, 1), by: 3).map { Array(users[$0..<min($0 + 3, users.count)]) }
        return Paginator("ListUsers") { [log] token in
            log.note("ListUsers")
            let index = Int(token ?? "0")!
            return (pages[index], index + 1 < pages.count ? String(index + 1) : nil)
        }
    }

    func listGroups(identityStoreId: String) -> Paginator<IdentityStoreGroup, String> { Paginator("ListGroups") { _ in ([], nil) } }
    func listGroupMemberships(identityStoreId: String, groupId: String) -> Paginator<GroupMembership, String> { Paginator("x") { _ in ([], nil) } }
    func listGroupMembershipsForMember(identityStoreId: String, userId: String) -> Paginator<GroupMembership, String> { Paginator("x") { _ in ([], nil) } }
}

struct FakeActivity: ActivitySource {
    var signIns: [UserActivity] = []
    var passwordChanges: [UserActivity] = []
    var roleSignIns: [RoleSignIn] = []

    func signIns(from start: Date, to end: Date, deadline: Date?) async throws -> [UserActivity] { signIns }
    func passwordChanges(from start: Date, to end: Date, deadline: Date?) async throws -> [UserActivity] { passwordChanges }
    func roleSignIns(from start: Date, to end: Date, deadline: Date?) async throws -> [RoleSignIn] { roleSignIns }
}

final class RecordingQueue: SQSAPI {
    let sent = Mutex<[String]>([])
    var bodies: [String] { sent.withLock { $0 } }

    func sendMessage(queueUrl: String, body: String) async throws -> String {
        sent.withLock { $0.append(body) }
        return "m"
    }

    func sendMessageBatch(queueUrl: String, bodies: [String]) async throws -> [String] {
        sent.withLock { $0 += bodies }
        return bodies.map { _ in "m" }
    }
}

let store = "d-1234567890"

func date(_ text: String) -> Date { ISO8601UTC.parse(text)! }

func user(
    _ id: String, _ name: String, origin: UserOrigin = .console, created: String? = nil, password: String? = nil, signIn: String? = nil
) -> RegistryUser {
    RegistryUser(
        userId: id, userName: name, identityStoreId: store, origin: origin, createdAt: created.map(date),
        lastPasswordChangeAt: password.map(date), lastSignInAt: signIn.map(date), updatedAt: date("2026-01-01T00:00:00Z"))
}

func record(_ json: String) throws -> CloudTrailRecord {
    try JSONDecoder().decode(CloudTrailRecord.self, from: Data(json.utf8))
}

func decodeEvent<Event: Decodable>(_ json: String, as type: Event.Type = Event.self) throws -> Event {
    try JSONDecoder().decode(Event.self, from: Data(json.utf8))
}
