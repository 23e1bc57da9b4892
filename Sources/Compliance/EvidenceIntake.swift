import FoundationEssentials
import Logging

/// Evidence as it happens, delivered by EventBridge (through an SQS queue): each CloudTrail
/// record moves the matching date later, never earlier (conditional writes, so a replay changes
/// nothing). The password monitor takes UpdatePassword; the inactivity monitor takes sign-ins,
/// and role sign-ins for the credential report. A monitor never creates a registry item.
extension ComplianceMonitor {
    enum EvidenceOutcome: Equatable {
        case recorded
        /// Nothing later to write: a replay, an older event, or a user the registry does not hold.
        case unchanged
        case ignored(String)
    }

    public func handle(_ event: MonitorEvent, deadline: Date?) async throws -> MonitorResponse {
        switch event {
        case .run(let request):
            return .summary(try await run(request, deadline: deadline))
        case .evidence(let record):
            var summary = EvidenceSummary()
            summary.add(try await take(record, names: RegistryNames(registry: registry)))
            logger.info("\(configuration.control.rawValue) evidence: \(record.eventSource) \(record.eventName) at \(record.eventTime): \(summary.recorded) recorded, \(summary.unchanged) unchanged, \(summary.ignored) ignored")
            return .evidence(summary)
        case .queued(let messages):
            return .batch(try await take(messages))
        }
    }

    /// A batch from the queue: the messages not done (a body that is no EventBridge event
    /// carrying a CloudTrail record, or a write that failed for a while) go back to the queue,
    /// and after its retries to its dead-letter queue. Any other failure fails the whole batch.
    func take(_ messages: [QueuedMessage]) async throws -> BatchResponse {
        let names = RegistryNames(registry: registry)
        let outcomes = try await mapConcurrently(messages, limit: 8) { message -> EvidenceOutcome? in
            let record: CloudTrailRecord
            do {
                record = try message.record()
            } catch {
                logger.error("SQS message \(message.messageId) is not an EventBridge event carrying a CloudTrail record: \(error)")
                return nil
            }
            do {
                return try await take(record, names: names)
            } catch where isPassingFailure(error) {
                logger.warning("SQS message \(message.messageId) left on the queue to try again: \(error)")
                return nil
            }
        }
        var summary = EvidenceSummary()
        outcomes.compactMap { $0 }.forEach { summary.add($0) }
        let failures = zip(messages, outcomes).filter { $0.1 == nil }.map { BatchResponse.Failure(itemIdentifier: $0.0.messageId) }
        logger.info("\(configuration.control.rawValue) evidence: \(messages.count) queued events, \(summary.recorded) recorded, \(summary.unchanged) unchanged, \(summary.ignored) ignored, \(failures.count) left on the queue")
        return BatchResponse(batchItemFailures: failures)
    }

    func take(_ record: CloudTrailRecord, names: RegistryNames) async throws -> EvidenceOutcome {
        if let code = record.errorCode {
            return ignore(record, "a failed call (\(code))")
        }
        guard let event = ActivityEvent(record) else {
            return ignore(record, "no eventTime ISO 8601 to the second")
        }
        if let activity = ActivityRules.evidence(of: evidenceKind, in: event) {
            guard let userId = try await registeredUserId(activity.userId, name: activity.userName, names: names) else {
                return ignore(record, "names no user the registry holds")
            }
            let recorded = try await registry.recordEvidence(userId: userId, evidenceKind, at: activity.time, updatedAt: now())
            return recorded ? .recorded : .unchanged
        }
        if evidenceKind == .signIn, let role = ActivityRules.roleSignIn(event) {
            guard let userId = try await registeredUserId(role.userId, name: role.userName, names: names, mustExist: true) else {
                return ignore(record, "names no user the registry holds")
            }
            let recorded = try await ledger.recordRoleSignIn(
                userId: userId, accountId: role.accountId, roleName: role.roleName, at: role.time, updatedAt: now())
            return recorded ? .recorded : .unchanged
        }
        return ignore(record, "no evidence for \(configuration.control.rawValue)")
    }

    /// The registry user an event names (`UserMatcher`): by id, whose absence the conditional
    /// write finds unless `mustExist` asks to look first; by name, for an old-format event.
    private func registeredUserId(
        _ userId: String?, name: String?, names: RegistryNames, mustExist: Bool = false
    ) async throws -> String? {
        if let userId {
            guard mustExist else { return userId }
            return try await registry.user(userId) == nil ? nil : userId
        }
        guard let name else { return nil }
        return try await names.userId(named: name)
    }

    private func ignore(_ record: CloudTrailRecord, _ why: String) -> EvidenceOutcome {
        logger.info("Ignored \(record.eventSource) \(record.eventName) at \(record.eventTime): \(why)")
        return .ignored(why)
    }
}

/// The registry's users by name, for old-format events that carry no id: read from the registry
/// once for a whole batch, and only when such an event comes.
actor RegistryNames {
    private let registry: any Registry
    private var loading: Task<UserMatcher, any Error>?

    init(registry: any Registry) {
        self.registry = registry
    }

    func userId(named name: String) async throws -> String? {
        let matcher: Task<UserMatcher, any Error>
        if let loading {
            matcher = loading
        } else {
            matcher = Task { [registry] in UserMatcher(try await registry.allUsers()) }
            loading = matcher
        }
        return try await matcher.value.userId(id: nil, name: name)
    }
}

extension EvidenceSummary {
    mutating func add(_ outcome: ComplianceMonitor.EvidenceOutcome) {
        switch outcome {
        case .recorded: recorded += 1
        case .unchanged: unchanged += 1
        case .ignored: ignored += 1
        }
    }
}
