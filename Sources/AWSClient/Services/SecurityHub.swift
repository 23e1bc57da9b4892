import FoundationEssentials

/// A finding in the AWS Security Finding Format, as the caller encodes it; `findingId` is its `Id`.
public protocol SecurityHubFinding: Encodable, Sendable {
    var findingId: String { get }
}

public protocol SecurityHubAPI: Sendable {
    /// Imports findings (an existing `Id` is updated, not duplicated), at most 100 a call. Entries
    /// that fail for a passing reason are imported again; any other failed entry fails the call,
    /// named with its error.
    func batchImportFindings<Finding: SecurityHubFinding>(_ findings: [Finding]) async throws
    /// The findings matching `filters` (Security Hub's `AwsSecurityFindingFilters`), 100 a page.
    func getFindings<Filters: Encodable & Sendable, Finding: Decodable & Sendable>(
        _ filters: Filters, as finding: Finding.Type
    ) -> Paginator<Finding, String>
}

public struct SecurityHubClient: SecurityHubAPI {
    /// BatchImportFindings takes at most 100 findings a call.
    static let maxImportBatch = 100

    let client: AWSClient
    /// GetFindings allows 3 requests a second.
    let getFindingsRate: RateLimiter

    public init(client: AWSClient, getFindingsRate: RateLimiter = RateLimiter(perSecond: 3, adaptive: true)) {
        self.client = client
        self.getFindingsRate = getFindingsRate
    }

    public func batchImportFindings<Finding: SecurityHubFinding>(_ findings: [Finding]) async throws {
        for start in stride(from: 0, to: findings.count, by: Self.maxImportBatch) {
            try await importBatch(Array(findings[start..<min(start + Self.maxImportBatch, findings.count)]))
        }
    }

    private func importBatch<Finding: SecurityHubFinding>(_ findings: [Finding]) async throws {
        var failures: [ImportFailure] = []
        let stuck = try await client.retryStrategy.resend(Array(findings.indices)) { pending in
            let input = ImportInput(Findings: pending.map { findings[$0] })
            let output = try await client.restJSON(.securityHub, "BatchImportFindings", path: "/findings/import", input, as: ImportOutput.self)
            failures = output.FailedFindings ?? []
            let rejected = failures.filter { !RetryKind.isPassing(entryErrorCode: $0.ErrorCode) }
            guard rejected.isEmpty else {
                throw SecurityHubImportError(failures: rejected.map { "\($0.Id): \($0.ErrorCode): \($0.ErrorMessage ?? "")" })
            }
            let failedIds = Set(failures.map(\.Id))
            return pending.filter { failedIds.contains(findings[$0].findingId) }
        }
        guard stuck.isEmpty else {
            throw SecurityHubImportError(failures: failures.map {
                "\($0.Id): \($0.ErrorCode): \($0.ErrorMessage ?? "") (still failing after \(client.retryStrategy.maxAttempts) attempts)"
            })
        }
    }

    public func getFindings<Filters: Encodable & Sendable, Finding: Decodable & Sendable>(
        _ filters: Filters, as finding: Finding.Type
    ) -> Paginator<Finding, String> {
        Paginator("SecurityHub GetFindings") { [client, getFindingsRate] token in
            let input = FindingsQuery(Filters: filters, NextToken: token)
            let page = try await client.restJSON(
                .securityHub, "GetFindings", path: "/findings", input, as: FindingsPage<Finding>.self, pacedBy: getFindingsRate)
            // An empty token means the last page, as the SDKs read it.
            return (page.Findings ?? [], page.NextToken.flatMap { $0.isEmpty ? nil : $0 })
        }
    }
}

private struct ImportInput<Finding: Encodable>: Encodable { let Findings: [Finding] }
private struct ImportFailure: Decodable { let Id: String; let ErrorCode: String; let ErrorMessage: String? }
private struct ImportOutput: Decodable { let FailedFindings: [ImportFailure]? }
private struct FindingsQuery<Filters: Encodable>: Encodable {
    let Filters: Filters
    var MaxResults = 100
    let NextToken: String?
}
private struct FindingsPage<Finding: Decodable>: Decodable {
    let Findings: [Finding]?
    let NextToken: String?
}

/// Findings Security Hub would not take, with why.
public struct SecurityHubImportError: Error, CustomStringConvertible {
    public let failures: [String]
    public var description: String { "SecurityHub BatchImportFindings failed for \(failures.count) findings: \(failures.joined(separator: "; "))" }
}
