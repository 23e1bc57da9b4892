import AWSClient
import FoundationEssentials
import Logging

/// What a monitor invocation found and did.
public struct MonitorSummary: Sendable, Encodable, Equatable {
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
    /// A catch-up: CloudTrail read and recorded, nobody judged.
    public let catchUp: Bool
    /// Whether CloudTrail has been read over the whole window; a judging run alerts only then.
    public let coverageComplete: Bool
    /// The span of CloudTrail read for this control so far, as ISO 8601; nil before any read.
    public let coveredFrom: String?
    public let coveredUntil: String?
}

/// password-expiry-monitor and inactivity-monitor: read CloudTrail where the activity ledger has
/// not yet (remembering the newest evidence in the registry as it goes), then judge every registry
/// user against one control and alert on who is expired or close to it, but only once CloudTrail
/// is read over the whole window. Nothing is kept between warm invocations but what is written.
public struct ComplianceMonitor: Sendable {
    /// LookupEvents holds 90 days; so does the window the monitors read.
    static let cloudTrailWindowDays = 90
    /// What a judging run keeps of its invocation, after reading, to check the store and alert.
    static let judgingTime: TimeInterval = 30

    let configuration: MonitorConfiguration
    let registry: any Registry
    let ledger: any ActivityLedger
    let directory: any IdentityStoreAPI
    let activity: any ActivitySource
    let queue: any SQSAPI
    let logger: Logger
    let now: @Sendable () -> Date

    public init(
        configuration: MonitorConfiguration, registry: any Registry, ledger: any ActivityLedger, directory: any IdentityStoreAPI,
        activity: any ActivitySource, queue: any SQSAPI, logger: Logger, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.configuration = configuration
        self.registry = registry
        self.ledger = ledger
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

        let kind = evidenceKind
        let window = CoveredSpan(from: asOf.addingTimeInterval(-Double(Self.cloudTrailWindowDays) * 86_400), until: asOf)
        let persist = !request.dryRun
        var tally = EvidenceTally(users: registered, kind: kind)
        var evidenceRecorded = 0
        let reading = try await CoverageReader(source: activity, ledger: ledger, now: now).read(
            ActivityRules.eventNames(of: kind), over: window,
            deadline: request.catchUp ? deadline : deadline?.addingTimeInterval(-Self.judgingTime), persist: persist
        ) { events in
            let news = tally.add(events.compactMap { ActivityRules.evidence(of: kind, in: $0) }, notAfter: asOf)
            guard persist else { return }
            evidenceRecorded += try await remember(news, kind, updatedAt: now())
        }
        let coverage = (
            complete: reading.complete, from: reading.covered.map { ISO8601UTC.format($0.from) },
            until: reading.covered.map { ISO8601UTC.format($0.until) })

        guard !request.catchUp, reading.complete else {
            if !reading.complete {
                logger.warning(
                    "\(control.rawValue): CloudTrail read over \(coverage.from ?? "nothing") to \(coverage.until ?? "nothing") of the window \(ISO8601UTC.format(window.from)) to \(ISO8601UTC.format(window.until)) when the time ran out; \(evidenceRecorded) dates recorded, nobody judged: the next run goes on from there")
            } else {
                logger.info("\(control.rawValue) catch-up: CloudTrail read over \(coverage.from ?? "-") to \(coverage.until ?? "-"), \(evidenceRecorded) dates recorded")
            }
            return MonitorSummary(
                alertType: control.rawValue, asOf: ISO8601UTC.format(asOf), activitySource: configuration.activitySource.name,
                dryRun: request.dryRun, usersChecked: 0, expired: 0, warning: 0, skipped: skipped.count, excluded: excluded.count,
                otherStore: otherStore, disabled: 0, gone: 0, evidenceRecorded: evidenceRecorded, messagesSent: 0,
                catchUp: request.catchUp, coverageComplete: coverage.complete, coveredFrom: coverage.from, coveredUntil: coverage.until)
        }

        let flaggedBeforeLedger = judged.filter { verdict(for: $0, cloudTrailDate: tally.newest[$0.userId], asOf: asOf).status != .compliant }
        // Evidence read while a user was not yet in the registry is in the ledger.
        let fromLedger = try await evidenceInLedger(for: flaggedBeforeLedger, kind, notAfter: asOf, newerThan: tally.newest)
        if persist {
            evidenceRecorded += try await remember(EvidenceTally.News(registered: fromLedger.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }), kind, updatedAt: now())
        }
        let judgedVerdicts = judged.map { verdict(for: $0, cloudTrailDate: fromLedger[$0.userId] ?? tally.newest[$0.userId], asOf: asOf) }
        // Disabled and deleted users have met the control: check the store's state of everyone
        // about to be flagged, since the registry's copy is only as fresh as the last reconcile.
        let flagged = judgedVerdicts.filter { $0.status != .compliant }.map(\.userId)
        let states = try await StoreStateCheck(directory: directory, identityStoreId: configuration.identityStoreId)
            .states(of: flagged, storeSize: registered.count)
        let verdicts = judgedVerdicts.filter { (states[$0.userId] ?? .enabled) == .enabled }
        let disabled = states.values.count { $0 == .disabled }
        let gone = states.values.count { $0 == .gone }

        var messagesSent = 0
        if !request.dryRun {
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
            evidenceRecorded: evidenceRecorded, messagesSent: messagesSent, catchUp: false, coverageComplete: true,
            coveredFrom: coverage.from, coveredUntil: coverage.until)
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

    /// Writes what a page proved: newer dates into the registry, so the evidence outlives
    /// CloudTrail's 90 days, and the dates of users the registry does not hold into the ledger.
    /// Returns how many registry users had something new.
    private func remember(_ news: EvidenceTally.News, _ kind: EvidenceKind, updatedAt: Date) async throws -> Int {
        try await forEachConcurrently(news.registered, limit: 8) { [registry] update in
            _ = try await registry.recordEvidence(userId: update.userId, kind, at: update.date, updatedAt: updatedAt)
        }
        try await forEachConcurrently(news.unregistered, limit: 8) { [ledger] update in
            try await ledger.recordEvidence(userId: update.userId, kind, at: update.date, updatedAt: updatedAt)
        }
        return news.registered.count
    }

    /// The ledger's dates for `users` that are newer than what the run knows.
    private func evidenceInLedger(for users: [RegistryUser], _ kind: EvidenceKind, notAfter limit: Date, newerThan known: [String: Date])
        async throws -> [String: Date]
    {
        let found = try await mapConcurrently(users.map(\.userId), limit: 8) { [ledger] userId in
            (userId, try await ledger.evidence(userId: userId, kind))
        }
        var newer: [String: Date] = [:]
        for case let (userId, date?) in found where date <= limit && known[userId].map({ date > $0 }) ?? true {
            newer[userId] = date
        }
        return newer
    }

    /// The kind of evidence this monitor's control rests on.
    var evidenceKind: EvidenceKind { configuration.control == .passwordExpiry ? .passwordChange : .signIn }

    private func isExcluded(_ user: RegistryUser) -> Bool {
        configuration.excludedUsers.contains(user.userName.lowercased()) || configuration.excludedUsers.contains(user.userId.lowercased())
    }
}
