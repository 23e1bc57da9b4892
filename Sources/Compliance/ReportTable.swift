import AWSClient
import FoundationEssentials

struct SignInKey: Hashable, Sendable {
    let accountId: String
    let roleName: String
    let userId: String
}

/// The report's rows, sorted and written as CSV.
struct ReportTable {
    private struct Row {
        let accountId: String
        let permissionSet: PermissionSet
        let groupId: String?
        let userId: String
        let userName: String
        let groupName: String
    }

    let csv: Data
    let rowCount: Int
    let userCount: Int

    init(
        assignments: [AccountAssignment], permissionSets: [String: PermissionSet], names: DirectoryNames, members: [String: [String]],
        lastSignIns: [SignInKey: Date], asOf: Date
    ) {
        var rows: [Row] = []
        for assignment in assignments {
            guard let permissionSet = permissionSets[assignment.permissionSetArn] else { continue }
            switch assignment.principalType {
            case .user:
                rows.append(Row(
                    accountId: assignment.accountId, permissionSet: permissionSet, groupId: nil, userId: assignment.principalId,
                    userName: names.users[assignment.principalId] ?? assignment.principalId, groupName: ""))
            case .group:
                let groupName = names.groups[assignment.principalId] ?? assignment.principalId
                for userId in members[assignment.principalId] ?? [] {
                    rows.append(Row(
                        accountId: assignment.accountId, permissionSet: permissionSet, groupId: assignment.principalId, userId: userId,
                        userName: names.users[userId] ?? userId, groupName: groupName))
                }
            }
        }
        rows.sort {
            ($0.accountId, $0.permissionSet.name, $0.userName, $0.groupName, $0.userId, $0.groupId ?? "")
                < ($1.accountId, $1.permissionSet.name, $1.userName, $1.groupName, $1.userId, $1.groupId ?? "")
        }
        var writer = CSVWriter()
        writer.write(reportHeader)
        for row in rows {
            let lastLogin = lastSignIns[SignInKey(accountId: row.accountId, roleName: row.permissionSet.name, userId: row.userId)]
            writer.write([
                row.accountId, row.permissionSet.permissionSetArn, row.permissionSet.name, row.permissionSet.description ?? "",
                row.groupId == nil ? "USER" : "GROUP", row.groupId ?? "", row.groupName, row.userName, row.userId,
                lastLogin.map(ISO8601UTC.format) ?? "NO_LOGIN_PRESENT", names.accounts[row.accountId] ?? "",
                lastLogin.map { String($0.wholeDays(until: asOf)) } ?? "",
            ])
        }
        csv = writer.data
        rowCount = rows.count
        userCount = Set(rows.map(\.userId)).count
    }
}
