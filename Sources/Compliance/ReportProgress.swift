import AWSClient
import FoundationEssentials
import Synchronization

/// What a report run has read so far, kept between invocations when the organisation needs more
/// than one (docs/contract.md, "Report out", "Any size"): every listing's items and the token of
/// its next page, the permission sets described, the enumeration chosen, and the old-format role
/// sign-ins read (named by user name only, so the activity ledger cannot keep them). Role
/// sign-ins with a user id are in the ledger, and how far CloudTrail has been read is the
/// ledger's coverage. Never a credential.
struct ReportProgress: Codable, Sendable {
    static let currentVersion = 1

    var version = currentVersion
    let runId: String
    let startedAt: Date
    let asOf: Date
    let lookbackDays: Int
    /// The instance and store the run reads: a continuation is refused by a report configured for others.
    let instanceArn: String
    let identityStoreId: String
    var invocations = 0
    var apiCalls = 0
    var durationMs = 0

    var users = Listing<NamedEntry>()
    var groups = Listing<NamedEntry>()
    var accounts = Listing<NamedEntry>()
    var permissionSetArns = Listing<String>()
    var permissionSets: [String: PermissionSet] = [:]
    /// Per permission set ARN.
    var provisioned: [String: Listing<String>] = [:]
    /// Chosen once, when the first invocation knows both counts; kept so every invocation lists alike.
    var enumeration: CredentialReport.Enumeration?
    /// Per (account, permission set) pair or per principal, by `CredentialReport.assignmentListing`.
    var assignments: [String: Listing<AccountAssignment>] = [:]
    /// Per group id.
    var members: [String: Listing<String>] = [:]
    var unattributedSignIns: [RoleSignIn] = []

    init(runId: String, startedAt: Date, asOf: Date, lookbackDays: Int, instanceArn: String, identityStoreId: String) {
        self.runId = runId
        self.startedAt = startedAt
        self.asOf = asOf
        self.lookbackDays = lookbackDays
        self.instanceArn = instanceArn
        self.identityStoreId = identityStoreId
    }
}

/// One listing read so far: its items, and where it goes on.
struct Listing<Item: Codable & Sendable>: Codable, Sendable {
    var items: [Item] = []
    /// The next page's token; nil before the first page and after the last.
    var next: String?
    var done = false

    mutating func add(_ page: ListingPage<Item>) {
        items += page.items
        next = page.next
        done = page.next == nil
    }
}

/// The run's progress, shared by the tasks that read in parallel; each listing has one writer.
final class ProgressBook: Sendable {
    private let state: Mutex<ReportProgress>

    init(_ progress: ReportProgress) {
        state = Mutex(progress)
    }

    var progress: ReportProgress { state.withLock { $0 } }

    func read<Value>(_ body: (ReportProgress) -> Value) -> Value {
        state.withLock { body($0) }
    }

    func update(_ body: (inout ReportProgress) -> Void) {
        state.withLock { body(&$0) }
    }
}

/// When an invocation stops starting work: its deadline, by the report's clock.
struct TimeLimit: Sendable {
    let deadline: Date?
    let now: @Sendable () -> Date

    var isUp: Bool { deadline.map { now() >= $0 } ?? false }
}

/// Reads `start` on from where it was left, a page at a time, handing each page's state to
/// `record`. It stops before a page once the time is up: a page under way is finished and
/// recorded, so nothing is read twice. The items when the listing is complete; nil when the
/// time ran out first.
func resume<Item: Codable & Sendable>(
    _ start: Listing<Item>, within limit: TimeLimit, page: (_ token: String?) async throws -> ListingPage<Item>,
    record: (Listing<Item>) -> Void
) async throws -> [Item]? {
    var listing = start
    while !listing.done {
        if limit.isUp { return nil }
        listing.add(try await page(listing.next))
        record(listing)
    }
    return listing.items
}

/// Where a run's progress is kept between invocations, and the opaque continuation that names it.
struct ProgressKeeping: Sendable {
    /// Abandoned progress is refused after this long (and the bucket's lifecycle rule removes it).
    static let lifetimeDays = 7
    private static let tokenPrefix = "cr1."

    let store: any ReportStore
    /// `<REPORT_PREFIX>progress/`.
    let folder: String

    /// 32 hexadecimal digits.
    static func newRunId() -> String {
        UUID().uuidString.replacing("-", with: "").lowercased()
    }

    func continuation(for progress: ReportProgress) -> String { Self.tokenPrefix + progress.runId }

    private func key(_ runId: String) -> String { "\(folder)\(runId).json" }

    /// Writes the progress; its size in bytes.
    func save(_ progress: ReportProgress) async throws -> Int {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let body = try encoder.encode(progress)
        try await store.write(body, key: key(progress.runId), contentType: "application/json")
        return body.count
    }

    /// The progress a continuation names, for a report of `configuration`; a clear error for a
    /// continuation this report did not give, one whose progress is gone or unreadable, or an expired one.
    func load(_ continuation: String, configuration: CredentialReportConfiguration, now: Date) async throws -> ReportProgress {
        let runId = continuation.dropFirst(Self.tokenPrefix.count)
        guard continuation.hasPrefix(Self.tokenPrefix), runId.count == 32, runId.allSatisfy(\.isHexDigit) else {
            throw ReportRequestError("continuation '\(continuation.prefix(80))' is not one this report gave: pass the string a previous invocation returned, unchanged")
        }
        let location = store.location(of: key(String(runId)))
        let stored: Data?
        do {
            stored = try await store.read(key(String(runId)))
        } catch {
            // S3 answers a missing object AccessDenied to a caller without s3:ListBucket.
            throw ReportRequestError(
                "the progress of continuation \(continuation) cannot be read at \(location) (\(error)): the continuation is unknown or has "
                    + "expired (progress is kept \(Self.lifetimeDays) days), or the function may not read its REPORT_PREFIX's progress/")
        }
        guard let data = stored else {
            throw ReportRequestError(
                "continuation \(continuation) is unknown or has expired: its progress (\(location)) is gone; "
                    + "progress is kept \(Self.lifetimeDays) days and removed once the report is written. Start a new run without a continuation")
        }
        let progress: ReportProgress
        do {
            progress = try JSONDecoder().decode(ReportProgress.self, from: data)
        } catch {
            throw ReportRequestError("the progress of continuation \(continuation) is unreadable (\(error)); start a new run without a continuation")
        }
        guard progress.version == ReportProgress.currentVersion, progress.runId == runId else {
            throw ReportRequestError("the progress of continuation \(continuation) is of another version or run; start a new run without a continuation")
        }
        guard progress.instanceArn == configuration.instanceArn, progress.identityStoreId == configuration.identityStoreId else {
            throw ReportRequestError(
                "continuation \(continuation) belongs to a run over \(progress.instanceArn) and \(progress.identityStoreId); this report reads "
                    + "\(configuration.instanceArn) and \(configuration.identityStoreId)")
        }
        guard now.timeIntervalSince(progress.startedAt) <= Double(Self.lifetimeDays) * 86_400 else {
            throw ReportRequestError(
                "continuation \(continuation) has expired: its run started \(ISO8601UTC.format(progress.startedAt)), more than \(Self.lifetimeDays) days ago; start a new run without a continuation")
        }
        return progress
    }

    func remove(_ progress: ReportProgress) async throws {
        try await store.remove(key(progress.runId))
    }
}
