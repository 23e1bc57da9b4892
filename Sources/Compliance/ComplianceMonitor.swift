import AWSClient
import FoundationEssentials
import Logging

/// What a monitor invocation found and did.
public struct MonitorSummary: Sendable, Encodable {
    public let alertType: String
    public let asOf: String
    public let activitySource: String
    public let dryRun: Bool
    public let usersChecked: Int
    public let expired: Int
    public let warning: Int
    /// SCIM users the password monitor leaves to their identity provider.
    public let skipped: Int
    public let excluded: Int
    /// Items recorded for another identity store: not this store's users, so not judged here.
    public let otherStore: Int
    /// Flagged users the identity store reports `DISABLED` now: the control is met, no alert.
    public let disabled: Int
    /// Flagged users the identity store no longer holds (their DeleteUser not yet seen): no alert.
    public let gone: Int
    public let evidenceRecorded: Int
    public let messagesSent: Int
}

/// password-expiry-monitor and inactivity-monitor: judge every registry user against one control,
/// remember the newest evidence in the registry, and alert on who is expired or close to it.
/// Everything is computed afresh per invocation; nothing is kept between warm invocations.
public struct ComplianceMonitor: Sendable {
    /// LookupEvents holds 90 days; so does the window the monitors read.
    static let cloudTrailWindowDays = 90

    let configuration: MonitorConfiguration
    let registry: any Registry
    let directory: any IdentityStoreAPI
    let activity: any ActivitySource
    let queue: any SQSAPI
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        configuration: MonitorConfiguration, registry: any Registry, directory: any IdentityStoreAPI, activity: any ActivitySource,
        queue: any SQSAPI, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.registry = registry
        self.directory = directory
        self.activity = activity
        self.queue = queue
        self.logger = logger
        self.now = now
    }

    public func run(_ request: MonitorRequest, deadline: Date?) async throws -> MonitorSummary {
        let asOf = request.asOf ?? now()
        let control = configuration.control
        let everyone = try await registry.allUsers()
        // An item with no store recorded (written by an older tool) is judged: never a silent skip.
        let registered = everyone.filter { $0.identityStoreId == configuration.identityStoreId || $0.identityStoreId.isEmpty }
        let otherStore = everyone.count - registered.count
        if otherStore > 0 {
            logger.warning("\(otherStore) registry users belong to another identity store than \(configuration.identityStoreId): not judged here")
        }
        let excluded = registered.filter(isExcluded)
        let skipped = control == .passwordExpiry ? registered.filter { $0.origin == .scim && !isExcluded($0) } : []
        let judged = registered.filter { !isExcluded($0) && !(control == .passwordExpiry && $0.origin == .scim) }

        let windowStart = asOf.addingTimeInterval(-Double(Self.cloudTrailWindowDays) * 86_400)
        let evidence: [UserActivity] = switch control {
        case .passwordExpiry: try await activity.passwordChanges(from: windowStart, to: asOf, deadline: deadline)
        case .inactivity: try await activity.signIns(from: windowStart, to: asOf, deadline: deadline)
        }
        let newest = Self.newestActivity(evidence, for: judged, notAfter: asOf)
        let judgedVerdicts = judged.map { verdict(for: $0, cloudTrailDate: newest[$0.userId], asOf: asOf) }
        // Disabled and deleted users have met the control: check the store's state of everyone
        // about to be flagged, since the registry's copy is only as fresh as the last reconcile.
        let flagged = judgedVerdicts.filter { $0.status != .compliant }.map(\.userId)
        let states = try await StoreStateCheck(directory: directory, identityStoreId: configuration.identityStoreId)
            .states(of: flagged, storeSize: registered.count)
        let verdicts = judgedVerdicts.filter { (states[$0.userId] ?? .enabled) == .enabled }
        let disabled = states.values.count { $0 == .disabled }
        let gone = states.values.count { $0 == .gone }

        var evidenceRecorded = 0
        var messagesSent = 0
        if !request.dryRun {
            evidenceRecorded = try await remember(newest, for: judged, updatedAt: now())
            let bodies = try AlertMessage.bodies(
                for: verdicts, control: control, generatedAt: asOf, identityStoreId: configuration.identityStoreId,
                thresholdDays: configuration.thresholdDays, warningDays: configuration.warningDays)
            if !bodies.isEmpty {
                try await queue.sendMessageBatch(queueUrl: configuration.alertQueueUrl, bodies: bodies)
            }
            messagesSent = bodies.count
        }
        let summary = MonitorSummary(
            alertType: control.rawValue, asOf: ISO8601UTC.format(asOf), activitySource: configuration.activitySource.name,
            dryRun: request.dryRun, usersChecked: judged.count,
            expired: verdicts.count { $0.status == .expired }, warning: verdicts.count { $0.status == .warning },
            skipped: skipped.count, excluded: excluded.count, otherStore: otherStore, disabled: disabled, gone: gone,
            evidenceRecorded: evidenceRecorded, messagesSent: messagesSent)
        logger.info(
            "\(control.rawValue): \(summary.usersChecked) users checked as of \(summary.asOf), \(summary.expired) expired, \(summary.warning) warning, \(summary.skipped) skipped (SCIM), \(summary.excluded) excluded, \(disabled) disabled and \(gone) gone from the store (not alerted), \(summary.messagesSent) alert messages sent\(request.dryRun ? " (dry run: nothing sent or written)" : "")")
        for flagged in verdicts where flagged.status != .compliant {
            logger.debug("\(flagged.status.rawValue): \(flagged.userName) (\(flagged.userId)), \(flagged.daysSince.map { "\($0) days" } ?? "no evidence")")
        }
        return summary
    }

    func verdict(for user: RegistryUser, cloudTrailDate: Date?, asOf: Date) -> Verdict {
        let remembered = configuration.control == .passwordExpiry ? user.lastPasswordChangeAt : user.lastSignInAt
        // The newest evidence known; a user's creation stands in for both (the first password,
        // and a grace period before the first sign-in) when there is no other.
        let lastEvent = [cloudTrailDate, remembered].compactMap { $0 }.max() ?? user.createdAt
        let daysSince = lastEvent.map { $0.wholeDays(until: asOf) }
        return Verdict(
            userId: user.userId, userName: user.userName,
            status: ComplianceStatus(daysSince: daysSince, thresholdDays: configuration.thresholdDays, warningDays: configuration.warningDays),
            lastEventAt: lastEvent, daysSince: daysSince)
    }

    /// The newest activity per registry user id: matched on user id, and on user name only for
    /// old-format events that carry no id.
    static func newestActivity(_ activity: [UserActivity], for users: [RegistryUser], notAfter limit: Date) -> [String: Date] {
        let known = Set(users.map(\.userId))
        let idsByName = Dictionary(users.map { ($0.userName.lowercased(), $0.userId) }) { first, _ in first }
        var newest: [String: Date] = [:]
        for event in activity where event.time <= limit {
            let userId = event.userId ?? event.userName.flatMap { idsByName[$0.lowercased()] }
            guard let userId, known.contains(userId) else { continue }
            if newest[userId].map({ event.time > $0 }) ?? true { newest[userId] = event.time }
        }
        return newest
    }

    /// Writes CloudTrail's dates into the registry where they are newer, so the evidence outlives
    /// CloudTrail's 90 days. Returns how many users had something new.
    private func remember(_ newest: [String: Date], for users: [RegistryUser], updatedAt: Date) async throws -> Int {
        let kind: EvidenceKind = configuration.control == .passwordExpiry ? .passwordChange : .signIn
        let updates = users.compactMap { user -> (String, Date)? in
            guard let date = newest[user.userId] else { return nil }
            let remembered = kind == .passwordChange ? user.lastPasswordChangeAt : user.lastSignInAt
            return remembered.map { date > $0 } ?? true ? (user.userId, date) : nil
        }
        try await forEachConcurrently(updates, limit: 8) { [registry] update in
            try await registry.recordEvidence(userId: update.0, kind, at: update.1, updatedAt: updatedAt)
        }
        return updates.count
    }

    private func isExcluded(_ user: RegistryUser) -> Bool {
        configuration.excludedUsers.contains(user.userName.lowercased()) || configuration.excludedUsers.contains(user.userId.lowercased())
    }
}
