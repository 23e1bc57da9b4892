import AWSClient
import Foundation
import Testing

/// CloudTrail against the rig's fake (moto has no LookupEvents or Lake), signed and checked.
@Suite(.serialized) struct CloudTrailIntegrationTests {
    let rig = Rig.shared

    /// 120 sign-in records for one unique user, one a minute, newest last.
    func seedSignIns(user: String) throws -> [String] {
        let start = Date().addingTimeInterval(-3 * 86_400)
        let records: [[String: Any]] = (0..<120).map { index in
            [
                "eventVersion": "1.09", "eventID": UUID().uuidString, "eventType": "AwsServiceEvent",
                "eventTime": ISO8601DateFormatter().string(from: start.addingTimeInterval(Double(index) * 60)),
                "eventSource": "signin.amazonaws.com", "eventName": "CredentialVerification", "awsRegion": "us-east-1",
                "userIdentity": ["type": "IdentityCenterUser", "onBehalfOf": ["userId": user]],
                "serviceEventDetails": ["CredentialVerification": "Success"], "recipientAccountId": rig.state.accountId,
            ]
        }
        try rig.call("cloudtrail_fake", ["method": "DELETE", "route": "events"])
        try rig.call("cloudtrail_fake", ["method": "POST", "route": "events", "body": records])
        return records.map { $0["eventID"] as! String }
    }

    func stats() throws -> [String: Any] {
        try rig.call("cloudtrail_fake", ["method": "GET", "route": "stats"]) as! [String: Any]
    }

    @Test func lookupEventsPagesNewestFirstWithinTheRateWithoutBeingThrottled() async throws {
        let user = unique("user")
        let ids = try seedSignIns(user: user)
        let credentials = try rig.credentials(policy: [allow(["cloudtrail:LookupEvents"])])
        let cloudTrail = CloudTrailClient(client: try rig.client(credentials))
        let throttledBefore = try stats()["throttled"] as! Int

        var pages: [[CloudTrailLookupEvent]] = []
        for try await page in cloudTrail.lookupEvents(
            attribute: (key: "EventName", value: "CredentialVerification"), start: Date().addingTimeInterval(-4 * 86_400), end: Date()) {
            pages.append(page)
        }

        #expect(pages.map(\.count) == [50, 50, 20])
        let events = pages.flatMap { $0 }
        #expect(events.map(\.eventId) == ids.reversed())
        #expect(try events.allSatisfy { try onBehalfOfUserId($0.cloudTrailEvent) == user })
        #expect(try stats()["throttled"] as! Int == throttledBefore, "paced at 2 a second: never throttled")
    }

    @Test func throttlingIsRetriedToSuccess() async throws {
        _ = try seedSignIns(user: unique("user"))
        let credentials = try rig.credentials(policy: [allow(["cloudtrail:LookupEvents"])])
        let cloudTrail = CloudTrailClient(client: try rig.client(credentials))
        let throttledBefore = try stats()["throttled"] as! Int
        // A count, not a race: how fast a loaded machine sends must not decide whether we are throttled.
        try rig.call("cloudtrail_fake", ["method": "POST", "route": "config", "body": ["throttleNextLookups": 2]])
        defer { _ = try? rig.call("cloudtrail_fake", ["method": "POST", "route": "config", "body": ["throttleNextLookups": 0]]) }

        let events = try await cloudTrail.lookupEvents(attribute: nil, start: Date().addingTimeInterval(-4 * 86_400), end: Date()).all()

        #expect(events.count == 120)
        #expect(try stats()["throttled"] as! Int == throttledBefore + 2)
    }

    @Test func readersSharingTheLimitAllFinish() async throws {
        _ = try seedSignIns(user: unique("user"))
        let credentials = try rig.credentials(policy: [allow(["cloudtrail:LookupEvents"])])
        let throttledBefore = try stats()["throttled"] as! Int
        // Four readers with clients of their own, as four functions in one account: each paces
        // itself below the limit, together they overrun the 2 a second the fake allows.
        let readers = try (0..<4).map { _ in CloudTrailClient(client: try rig.client(credentials)) }
        let start = Date().addingTimeInterval(-4 * 86_400)

        let counts = try await withThrowingTaskGroup(of: Int.self) { group in
            for cloudTrail in readers {
                group.addTask { try await cloudTrail.lookupEvents(attribute: nil, start: start, end: Date()).all().count }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }

        #expect(counts == [120, 120, 120, 120])
        #expect(try stats()["throttled"] as! Int > throttledBefore, "the readers contended for the limit")
    }

    @Test func aSignatureErrorQuotingTheRequestNamesNoSecret() async throws {
        let credentials = try rig.credentials(policy: [allow(["cloudtrail:LookupEvents"])])
        let token = "IQoJb3JpZ2luX2VjEXAMPLE-session-token-\(unique("t"))"
        let forged = AWSCredentials(accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret", sessionToken: token)
        let cloudTrail = CloudTrailClient(client: try rig.client(forged))

        let error = await #expect(throws: AWSServiceError.self) {
            _ = try await cloudTrail.lookupEvents(attribute: nil, start: Date().addingTimeInterval(-3600), end: Date()).all()
        }

        #expect(error?.code == "InvalidSignatureException")
        // The service quotes the canonical request, which carries the token header: still there, blanked.
        #expect(error?.message.contains("x-amz-security-token:<redacted>") == true)
        #expect(error.map { !"\($0)".contains(token) && !"\($0)".contains("not-the-secret") } == true)
    }

    @Test func lakeQueryIsPolledToFinishedAndReadInPages() async throws {
        let user = unique("user")
        _ = try seedSignIns(user: user)
        let credentials = try rig.credentials(policy: [allow(["cloudtrail:StartQuery", "cloudtrail:GetQueryResults", "cloudtrail:DescribeQuery"])])
        let cloudTrail = CloudTrailClient(client: try rig.client(credentials))

        let queryId = try await cloudTrail.startQuery(
            "SELECT eventID, userIdentity.onBehalfOf.userId AS userId FROM eds-rig-0000000001 WHERE eventName = 'CredentialVerification'")
        var first = try await cloudTrail.getQueryResults(queryId, nextToken: nil, maxResults: 50)
        var polls = 1
        while first.status == .queued || first.status == .running {
            try await Task.sleep(for: .milliseconds(50))
            first = try await cloudTrail.getQueryResults(queryId, nextToken: nil, maxResults: 50)
            polls += 1
        }
        #expect(polls > 1, "the fake answers QUEUED and RUNNING before FINISHED")
        #expect(first.status == .finished)
        var rows = first.rows
        var token = first.nextToken
        while let next = token {
            let page = try await cloudTrail.getQueryResults(queryId, nextToken: next, maxResults: 50)
            rows += page.rows
            token = page.nextToken
        }
        #expect(rows.count == 120)
        // Lake (Trino) answers column names lowercased, aliases included.
        #expect(rows.allSatisfy { $0["userid"] == user })

        let invalid = await #expect(throws: AWSServiceError.self) { try await cloudTrail.startQuery("SELEKT nonsense") }
        #expect(invalid?.code == "InvalidQueryStatementException")
    }
}

/// `userIdentity.onBehalfOf.userId` of a record as CloudTrail wrote it.
private func onBehalfOfUserId(_ cloudTrailEvent: String) throws -> String? {
    let record = try JSONSerialization.jsonObject(with: Data(cloudTrailEvent.utf8)) as? [String: Any]
    let identity = record?["userIdentity"] as? [String: Any]
    return (identity?["onBehalfOf"] as? [String: Any])?["userId"] as? String
}
