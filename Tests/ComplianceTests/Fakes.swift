import AWSAdapters
import AWSClient
@testable import Compliance
import Foundation
import Synchronization

/// The registry's semantics (docs/contract.md) in memory; the DynamoDB one is proven against moto.
final class InMemoryRegistry: Registry {
    let users: Mutex<[String: RegistryUser]>
    /// How often the whole registry was read.
    let scans = Mutex(0)

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
        scans.withLock { $0 += 1 }
        return users.withLock { Array($0.values) }
    }

    func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws -> Bool {
        users.withLock { users in
            guard var user = users[userId] else { return false }
            switch kind {
            case .passwordChange where user.lastPasswordChangeAt.map({ $0 < date }) ?? true: user.lastPasswordChangeAt = date
            case .signIn where user.lastSignInAt.map({ $0 < date }) ?? true: user.lastSignInAt = date
            default: return false
            }
            user.updatedAt = updatedAt
            users[userId] = user
            return true
        }
    }

    func user(_ userId: String) async throws -> RegistryUser? { self[userId] }
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
}

/// CloudTrail as a fixed list of events, read as LookupEvents reads: one stream an event name,
/// newest first, in pages of two. Every read is logged.
final class FakeActivity: ActivitySource {
    struct Read: Equatable { let names: [String]; let from: Date; let to: Date }

    let events: [ActivityEvent]
    /// Reads stop at a deadline after this many pages (nil: never).
    let pagesBeforeDeadline: Int?
    let reads = Mutex<[Read]>([])
    let pagesRead = Mutex(0)

    init(signIns: [UserActivity] = [], passwordChanges: [UserActivity] = [], roleSignIns: [RoleSignIn] = [], pagesBeforeDeadline: Int? = nil) {
        var events = signIns.map {
            ActivityEvent(
                eventSource: "signin.amazonaws.com", eventName: "UserAuthentication", eventTime: $0.time, onBehalfOfUserId: $0.userId,
                identityUserName: $0.userName, serviceEventDetails: ["UserAuthentication": "Success"])
        }
        events += passwordChanges.map {
            ActivityEvent(
                eventSource: "sso-directory.amazonaws.com", eventName: "UpdatePassword", eventTime: $0.time, identityUserName: $0.userName,
                requestUserId: $0.userId)
        }
        events += roleSignIns.map {
            ActivityEvent(
                eventSource: "sso.amazonaws.com", eventName: "GetRoleCredentials", eventTime: $0.time, onBehalfOfUserId: $0.userId,
                identityUserName: $0.userName, serviceEventDetails: ["role_name": $0.roleName, "account_id": $0.accountId])
        }
        self.events = events
        self.pagesBeforeDeadline = pagesBeforeDeadline
    }

    var name: String { "fake" }
    var readLog: [Read] { reads.withLock { $0 } }

    func streams(of eventNames: [String]) -> [[String]] { Set(eventNames).sorted().map { [$0] } }

    func read(_ stream: [String], from start: Date, to end: Date, deadline: Date?, page: ([ActivityEvent]) async throws -> Void)
        async throws -> Bool
    {
        reads.withLock { $0.append(Read(names: stream, from: start, to: end)) }
        let found = events.filter { stream.contains($0.eventName) && $0.eventTime >= start && $0.eventTime <= end }
            .sorted { $0.eventTime > $1.eventTime }
        for first in stride(from: 0, to: found.count, by: 2) {
            if let limit = pagesBeforeDeadline, pagesRead.withLock({ $0 }) >= limit { return false }
            pagesRead.withLock { $0 += 1 }
            try await page(Array(found[first..<min(first + 2, found.count)]))
        }
        return true
    }
}

/// The activity ledger in memory; the DynamoDB one is proven against moto.
final class InMemoryLedger: ActivityLedger {
    let coverages = Mutex<[String: StreamCoverage]>([:])
    let evidence = Mutex<[String: Date]>([:])

    func coverage(of stream: String) async throws -> StreamCoverage { coverages.withLock { $0[stream] ?? StreamCoverage() } }

    func setCoverage(_ coverage: StreamCoverage, of stream: String, updatedAt: Date) async throws {
        coverages.withLock { $0[stream] = coverage }
    }

    func recordEvidence(userId: String, _ kind: EvidenceKind, at date: Date, updatedAt: Date) async throws {
        evidence.withLock { known in
            if known["\(userId)#\(kind)"].map({ $0 < date }) ?? true { known["\(userId)#\(kind)"] = date }
        }
    }

    func evidence(userId: String, _ kind: EvidenceKind) async throws -> Date? { evidence.withLock { $0["\(userId)#\(kind)"] } }

    func roleSignIns() async throws -> [RoleSignIn] {
        evidence.withLock { known in
            known.compactMap { key, time in
                let parts = key.split(separator: "#", omittingEmptySubsequences: false)
                guard parts.count == 4, parts[1] == "role" else { return nil }
                return RoleSignIn(userId: String(parts[0]), userName: nil, accountId: String(parts[2]), roleName: String(parts[3]), time: time)
            }
        }
    }

    func recordRoleSignIn(userId: String, accountId: String, roleName: String, at date: Date, updatedAt: Date) async throws -> Bool {
        evidence.withLock { known in
            let key = "\(userId)#role#\(accountId)#\(roleName)"
            guard known[key].map({ $0 < date }) ?? true else { return false }
            known[key] = date
            return true
        }
    }
}

final class RecordingAlerts: AlertSink {
    let sent = Mutex<[Alert]>([])
    var bodies: [String] { sent.withLock { $0.map(\.body) } }
    var subjects: [String] { sent.withLock { $0.map(\.subject) } }

    func send(_ alerts: [Alert]) async throws {
        sent.withLock { $0 += alerts }
    }
}

/// Findings kept in memory as Security Hub keeps them: by control and user, open until passed.
final class InMemoryFindings: FindingStore {
    let kept = Mutex<[String: ComplianceFinding]>([:])
    let imports = Mutex<[[ComplianceFinding]]>([])

    func openFindings(of control: Control, identityStoreId: String) async throws -> [String: OpenFinding] {
        kept.withLock { findings in
            var open: [String: OpenFinding] = [:]
            for finding in findings.values
            where finding.control == control && finding.identityStoreId == identityStoreId && finding.standing != .passed {
                open[finding.userId] = OpenFinding(userName: finding.userName, firstSeen: finding.firstSeen)
            }
            return open
        }
    }

    func keep(_ findings: [ComplianceFinding]) async throws {
        imports.withLock { $0.append(findings) }
        kept.withLock { kept in
            for finding in findings { kept["\(finding.control.rawValue)/\(finding.userId)"] = finding }
        }
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

extension FakeIdentityStore {
    /// The fake store as the domain sees it: through the real adapter, which reads "not found" as nil.
    var asDirectory: IdentityStoreDirectory { IdentityStoreDirectory(identityStore: self, identityStoreId: store) }
}
