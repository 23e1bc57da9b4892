import AWSClient
import Compliance
import FoundationEssentials

/// The monitors' findings in AWS Security Hub, in the AWS Security Finding Format, under the
/// account's default product: one finding per control and user, its `Id` stable so that every
/// run updates it (docs/contract.md, "Findings out").
public struct SecurityHubFindingStore: FindingStore {
    let securityHub: any SecurityHubAPI
    let partition: String
    let region: String
    let accountId: String

    /// From the invoked function's ARN, `arn:<partition>:lambda:<region>:<account>:function:<name>`:
    /// findings are imported into the function's own account and region.
    public init(securityHub: any SecurityHubAPI, functionArn: String) throws {
        let parts = functionArn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 7, parts[0] == "arn", parts[2] == "lambda", parts[4].count == 12 else {
            throw FindingStoreError("the invoked function ARN '\(functionArn)' names no account and region to import findings into")
        }
        self.securityHub = securityHub
        partition = String(parts[1])
        region = String(parts[3])
        accountId = String(parts[4])
    }

    var productArn: String { "arn:\(partition):securityhub:\(region):\(accountId):product/\(accountId)/default" }

    static func generatorId(_ control: Control) -> String { "idc-compliance/\(control.rawValue)" }

    static func findingId(_ control: Control, identityStoreId: String, userId: String) -> String {
        "\(findingIdPrefix(control, identityStoreId: identityStoreId))\(userId)"
    }

    static func findingIdPrefix(_ control: Control, identityStoreId: String) -> String {
        "idc-compliance/\(identityStoreId)/\(control.rawValue)/"
    }

    public func openFindings(of control: Control, identityStoreId: String) async throws -> [String: OpenFinding] {
        struct Filter: Encodable, Sendable { let Value: String; let Comparison: String }
        struct Filters: Encodable, Sendable {
            let ProductArn: [Filter]
            let GeneratorId: [Filter]
            let Id: [Filter]
            let RecordState: [Filter]
            let ComplianceStatus: [Filter]
        }
        struct Found: Decodable, Sendable {
            struct Fields: Decodable, Sendable { let UserId: String?; let UserName: String? }
            let Id: String
            let CreatedAt: String
            let ProductFields: Fields?
        }
        let prefix = Self.findingIdPrefix(control, identityStoreId: identityStoreId)
        let filters = Filters(
            ProductArn: [Filter(Value: productArn, Comparison: "EQUALS")],
            GeneratorId: [Filter(Value: Self.generatorId(control), Comparison: "EQUALS")],
            Id: [Filter(Value: prefix, Comparison: "PREFIX")],
            RecordState: [Filter(Value: "ACTIVE", Comparison: "EQUALS")],
            ComplianceStatus: [Filter(Value: "PASSED", Comparison: "NOT_EQUALS")])
        var open: [String: OpenFinding] = [:]
        for try await page in securityHub.getFindings(filters, as: Found.self) {
            for found in page {
                let userId = found.ProductFields?.UserId ?? String(found.Id.dropFirst(prefix.count))
                open[userId] = OpenFinding(
                    userName: found.ProductFields?.UserName ?? userId, firstSeen: ISO8601UTC.parse(found.CreatedAt) ?? Date())
            }
        }
        return open
    }

    public func keep(_ findings: [ComplianceFinding]) async throws {
        try await securityHub.batchImportFindings(findings.map { ASFFFinding($0, in: self) })
    }
}

struct FindingStoreError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// One finding as BatchImportFindings takes it.
struct ASFFFinding: SecurityHubFinding {
    struct SeverityField: Encodable { let Label: String }
    /// Where a provider updates severity and types: the top-level ones belong to the security
    /// team once the finding exists.
    struct ProviderFields: Encodable { let Severity: SeverityField; let Types: [String] }
    struct ComplianceField: Encodable { let Status: String; let RelatedRequirements: [String] }
    struct ResourceField: Encodable {
        struct OtherDetails: Encodable { let Other: [String: String] }
        let `Type` = "Other"
        let Id: String
        let Partition: String
        let Region: String
        let Details: OtherDetails
    }

    let SchemaVersion = "2018-10-08"
    let Id: String
    let ProductArn: String
    let GeneratorId: String
    let AwsAccountId: String
    static let types = ["Software and Configuration Checks/Industry and Regulatory Standards/PCI-DSS"]
    let Types = ASFFFinding.types
    let CreatedAt: String
    let UpdatedAt: String
    let Severity: SeverityField
    let FindingProviderFields: ProviderFields
    let Title: String
    let Description: String
    let Resources: [ResourceField]
    let Compliance: ComplianceField
    let ProductFields: [String: String]
    let RecordState: String

    var findingId: String { Id }

    init(_ finding: ComplianceFinding, in store: SecurityHubFindingStore) {
        let control = finding.control
        Id = SecurityHubFindingStore.findingId(control, identityStoreId: finding.identityStoreId, userId: finding.userId)
        ProductArn = store.productArn
        GeneratorId = SecurityHubFindingStore.generatorId(control)
        AwsAccountId = store.accountId
        CreatedAt = ISO8601UTC.format(finding.firstSeen)
        UpdatedAt = ISO8601UTC.format(finding.updatedAt)
        let label: String
        switch finding.standing {
        case .failed: label = "HIGH"
        case .warning: label = "MEDIUM"
        case .passed: label = "INFORMATIONAL"
        }
        let severity = SeverityField(Label: label)
        Severity = severity
        FindingProviderFields = ProviderFields(Severity: severity, Types: ASFFFinding.types)
        let when = finding.daysSince.map { "last \($0) days ago" } ?? "no date on record"
        let subject =
            switch control {
            case .passwordExpiry: "password of \(finding.userName)"
            case .inactivity: "sign-ins of \(finding.userName)"
            }
        switch finding.standing {
        case .failed, .warning:
            Title = "\(control.requirement): \(subject), \(when)"
        case .passed:
            Title = "\(control.requirement): \(subject) within policy again"
        }
        Description = ASFFFinding.description(finding)
        Resources = [
            ResourceField(
                Id: "arn:\(store.partition):identitystore:::user/\(finding.userId)", Partition: store.partition, Region: store.region,
                Details: .init(Other: ["IdentityStoreId": finding.identityStoreId, "UserName": finding.userName]))
        ]
        Compliance = ComplianceField(Status: finding.standing.rawValue, RelatedRequirements: [control.requirement])
        var fields = ["UserId": finding.userId, "UserName": finding.userName]
        fields["DaysSince"] = finding.daysSince.map(String.init)
        fields["LastEventAt"] = finding.lastEventAt.map(ISO8601UTC.format)
        ProductFields = fields
        RecordState = finding.standing == .passed ? "ARCHIVED" : "ACTIVE"
    }

    static func description(_ finding: ComplianceFinding) -> String {
        switch (finding.control, finding.standing) {
        case (_, .passed):
            return "The user is no longer flagged: the control is met again, or the user is disabled, deleted or excluded."
        case (.passwordExpiry, _):
            return "Identity Center user \(finding.userName) (\(finding.userId)) has not changed their password within the limit. Have them change it, or disable the user."
        case (.inactivity, _):
            return "Identity Center user \(finding.userName) (\(finding.userId)) has not signed in within the limit. Disable or delete the user if the access is no longer needed."
        }
    }
}
