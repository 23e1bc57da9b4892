import AWSClient
import Foundation
import Testing

/// Each client against the rig with signatures and IAM enforced: the real path, end to end.
@Suite(.serialized) struct DynamoDBIntegrationTests {
    let rig = Rig.shared

    @Test func writesReadsPagesAndConditionsAsAUserWithOnlyThoseRights() async throws {
        let table = unique("table")
        try rig.call("create_table", ["name": table])
        let credentials = try rig.credentials(policy: [
            allow(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:Scan"],
                  [rig.arn("dynamodb", "table/\(table)")])
        ])
        let dynamoDB = DynamoDBClient(client: try rig.client(credentials))

        // Over 1 MB, so Scan needs more than one page.
        let padding = String(repeating: "p", count: 1000)
        let items = (0..<1100).map { ["UserId": AttributeValue.string(String(format: "u%04d", $0)), "Padding": .string(padding)] }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for start in stride(from: 0, to: items.count, by: 100) {
                group.addTask {
                    for item in items[start..<min(start + 100, items.count)] { try await dynamoDB.putItem(table: table, item: item, condition: nil) }
                }
            }
            try await group.waitForAll()
        }
        var pages = 0
        var scanned: [DynamoDBItem] = []
        for try await page in dynamoDB.scan(table: table, consistentRead: true) {
            pages += 1
            scanned += page
        }
        #expect(pages > 1)
        #expect(Set(scanned.compactMap { $0["UserId"]?.stringValue }) == Set(items.compactMap { $0["UserId"]?.stringValue }))

        let key: DynamoDBItem = ["UserId": .string("u0001")]
        let updated = try await dynamoDB.updateItem(
            table: table, key: key, update: DynamoDBExpression("SET Seen = :seen", values: [":seen": .string("yes")]),
            condition: DynamoDBExpression("attribute_exists(UserId)"))
        #expect(updated["Seen"] == .string("yes"))
        let conditionError = await #expect(throws: AWSServiceError.self) {
            try await dynamoDB.putItem(table: table, item: key, condition: DynamoDBExpression("attribute_not_exists(UserId)"))
        }
        #expect(conditionError?.code == "ConditionalCheckFailedException")
        #expect(try await dynamoDB.getItem(table: table, key: key, consistentRead: true)?["Seen"] == .string("yes"))
        #expect(try await dynamoDB.deleteItem(table: table, key: key, condition: nil)?["Seen"] == .string("yes"))
        #expect(try await dynamoDB.deleteItem(table: table, key: key, condition: nil) == nil)
    }

    @Test func actionOutsideThePolicyIsATypedAccessDenied() async throws {
        let table = unique("table")
        let other = unique("other")
        try rig.call("create_table", ["name": table])
        try rig.call("create_table", ["name": other])
        let credentials = try rig.credentials(policy: [allow(["dynamodb:GetItem"], [rig.arn("dynamodb", "table/\(table)")])])
        let dynamoDB = DynamoDBClient(client: try rig.client(credentials))
        _ = try await dynamoDB.getItem(table: table, key: ["UserId": .string("x")], consistentRead: true)

        for denied in [{ try await dynamoDB.putItem(table: table, item: ["UserId": .string("x")], condition: nil) },
                       { _ = try await dynamoDB.getItem(table: other, key: ["UserId": .string("x")], consistentRead: true) }] {
            let error = await #expect(throws: AWSServiceError.self) { try await denied() }
            #expect(error?.code == "AccessDenied")
            #expect(error?.httpStatus == 403)
            #expect(error?.message.contains("is not authorized to perform") == true)
        }
    }

    @Test func wrongSecretIsASignatureError() async throws {
        let credentials = try rig.credentials(policy: [allow(["dynamodb:*"])])
        let forged = AWSCredentials(accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret")
        let error = await #expect(throws: AWSServiceError.self) {
            _ = try await DynamoDBClient(client: try rig.client(forged)).getItem(table: "any", key: ["UserId": .string("x")], consistentRead: true)
        }
        #expect(error?.code == "SignatureDoesNotMatch")
    }
}

@Suite(.serialized) struct IdentityCenterIntegrationTests {
    let rig = Rig.shared

    @Test func identityStoreListsEveryPageAndDescribes() async throws {
        let sso = try rig.call("identity_store") as! [String: String]
        let store = sso["identityStoreId"]!
        let prefix = unique("ids")
        let created = try rig.call("create_identity_store_users", ["identity_store_id": store, "count": 130, "prefix": prefix]) as! [[String: String]]
        let group = try rig.aws("identitystore", "create_group", ["IdentityStoreId": store, "DisplayName": unique("group")])["GroupId"] as! String
        try rig.awsMany("identitystore", "create_group_membership", created.prefix(120).map {
            ["IdentityStoreId": store, "GroupId": group, "MemberId": ["UserId": $0["userId"]!]]
        })
        let credentials = try rig.credentials(policy: [allow([
            "identitystore:DescribeUser", "identitystore:ListUsers", "identitystore:ListGroups",
            "identitystore:ListGroupMemberships", "identitystore:ListGroupMembershipsForMember",
        ])])
        let identityStore = IdentityStoreClient(client: try rig.client(credentials))

        let listed = try await identityStore.listUsers(identityStoreId: store).all()
        #expect(Set(created.map { $0["userId"]! }).isSubset(of: Set(listed.map(\.userId))))
        let first = try #require(created.first)
        let described = try await identityStore.describeUser(identityStoreId: store, userId: first["userId"]!)
        #expect(described.userName == first["userName"])
        let members = try await identityStore.listGroupMemberships(identityStoreId: store, groupId: group).all()
        #expect(Set(members.compactMap(\.userId)) == Set(created.prefix(120).map { $0["userId"]! }))
        #expect(try await identityStore.listGroups(identityStoreId: store).all().contains { $0.groupId == group })
        let missing = await #expect(throws: AWSServiceError.self) {
            try await identityStore.describeUser(identityStoreId: store, userId: "00000000-0000-0000-0000-000000000000")
        }
        #expect(missing?.code == "ResourceNotFoundException")
    }

    @Test func ssoAdminAndOrganizationsPageThroughEverything() async throws {
        let sso = try rig.call("identity_store") as! [String: String]
        let instance = sso["instanceArn"]!
        let permissionSet = try rig.aws("sso-admin", "create_permission_set", ["InstanceArn": instance, "Name": unique("ps")])
        let permissionSetArn = (permissionSet["PermissionSet"] as! [String: Any])["PermissionSetArn"] as! String
        let accounts = (0..<110).map { String(format: "7%011d", $0 + Int.random(in: 0..<1_000_000) * 1000) }
        let principal = UUID().uuidString.lowercased()
        try rig.awsMany("sso-admin", "create_account_assignment", accounts.map {
            ["InstanceArn": instance, "TargetId": $0, "TargetType": "AWS_ACCOUNT", "PermissionSetArn": permissionSetArn,
             "PrincipalType": "USER", "PrincipalId": principal]
        })
        let credentials = try rig.credentials(policy: [allow([
            "sso:ListPermissionSets", "sso:DescribePermissionSet", "sso:ListAccountsForProvisionedPermissionSet",
            "sso:ListAccountAssignments", "sso:ListAccountAssignmentsForPrincipal", "organizations:ListAccounts",
        ])])
        let client = try rig.client(credentials)
        let ssoAdmin = SSOAdminClient(client: client)

        #expect(try await ssoAdmin.listPermissionSets(instanceArn: instance).all().contains(permissionSetArn))
        #expect(try await ssoAdmin.describePermissionSet(instanceArn: instance, permissionSetArn: permissionSetArn).description == nil)
        let provisioned = try await ssoAdmin.listAccountsForProvisionedPermissionSet(instanceArn: instance, permissionSetArn: permissionSetArn).all()
        #expect(Set(provisioned) == Set(accounts), "110 accounts: more than one page of 100")
        let assignments = try await ssoAdmin.listAccountAssignments(instanceArn: instance, accountId: accounts[0], permissionSetArn: permissionSetArn).all()
        #expect(assignments == [AccountAssignment(accountId: accounts[0], permissionSetArn: permissionSetArn, principalType: .user, principalId: principal)])
        let forPrincipal = try await ssoAdmin.listAccountAssignmentsForPrincipal(instanceArn: instance, principalId: principal, principalType: .user).all()
        #expect(Set(forPrincipal.map(\.accountId)) == Set(accounts))

        _ = try? rig.aws("organizations", "create_organization", ["FeatureSet": "ALL"])
        let names = (0..<25).map { _ in unique("acct") }
        try rig.awsMany("organizations", "create_account", names.map { ["Email": "\($0)@example.com", "AccountName": $0] })
        let listed = try await OrganizationsClient(client: client).listAccounts().all()
        #expect(Set(names).isSubset(of: Set(listed.compactMap(\.name))), "25 accounts: more than one page of 20")
    }
}

@Suite(.serialized) struct MessagingAndStorageIntegrationTests {
    let rig = Rig.shared

    @Test func sqsSendsBatchesAndRefusesOtherQueues() async throws {
        let queueUrl = try rig.aws("sqs", "create_queue", ["QueueName": unique("alerts")])["QueueUrl"] as! String
        let otherUrl = try rig.aws("sqs", "create_queue", ["QueueName": unique("other")])["QueueUrl"] as! String
        let queueName = String(queueUrl.split(separator: "/").last!)
        let credentials = try rig.credentials(policy: [allow(["sqs:SendMessage"], [rig.arn("sqs", queueName)])])
        let sqs = SQSClient(client: try rig.client(credentials))

        let bodies = (0..<23).map { #"{"n":\#($0)}"# }
        let ids = try await sqs.sendMessageBatch(queueUrl: queueUrl, bodies: bodies)
        #expect(ids.count == 23 && Set(ids).count == 23)
        var received: [String] = []
        while received.count < 23 {
            let answer = try rig.aws("sqs", "receive_message", ["QueueUrl": queueUrl, "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1])
            let messages = answer["Messages"] as? [[String: Any]] ?? []
            if messages.isEmpty { break }
            received += messages.map { $0["Body"] as! String }
        }
        #expect(Set(received) == Set(bodies))
        let denied = await #expect(throws: AWSServiceError.self) { try await sqs.sendMessageBatch(queueUrl: otherUrl, bodies: ["x"]) }
        #expect(denied?.code == "AccessDenied")
    }

    @Test func s3PutObjectWithKMSAndAScopedPolicy() async throws {
        let bucket = unique("reports")
        try rig.aws("s3", "create_bucket", ["Bucket": bucket])
        let credentials = try rig.credentials(policy: [allow(["s3:PutObject"], ["arn:aws:s3:::\(bucket)/credential_reports/*"])])
        let s3 = S3Client(client: try rig.client(credentials))
        let body = Data("a,b\r\n\"c \"\"d\"\"\",e\r\n".utf8)

        try await s3.putObject(bucket: bucket, key: "credential_reports/report one.csv", body: body, contentType: "text/csv", encryption: .kms(keyId: nil))

        let object = try rig.aws("s3", "get_object", ["Bucket": bucket, "Key": "credential_reports/report one.csv"])
        #expect(object["ServerSideEncryption"] as? String == "aws:kms")
        #expect(object["ContentType"] as? String == "text/csv")
        let denied = await #expect(throws: AWSServiceError.self) {
            try await s3.putObject(bucket: bucket, key: "elsewhere/x.csv", body: body, contentType: "text/csv", encryption: .kms(keyId: nil))
        }
        #expect(denied?.code == "AccessDenied")
    }
}
