import FoundationEssentials

public protocol SNSAPI: Sendable {
    /// Publishes one message, with an e-mail subject line; returns the message id.
    @discardableResult
    func publish(topicArn: String, message: String, subject: String) async throws -> String
}

public struct SNSClient: SNSAPI {
    let client: AWSClient

    public init(client: AWSClient) {
        self.client = client
    }

    @discardableResult
    public func publish(topicArn: String, message: String, subject: String) async throws -> String {
        let answer = try await client.query(.sns, "Publish", [("TopicArn", topicArn), ("Message", message), ("Subject", subject)])
        guard let messageId = xmlElement("MessageId", in: answer) else {
            throw AWSResponseDecodingError(service: "SNS", operation: "Publish", underlying: "no MessageId in \(answer.prefix(200))")
        }
        return messageId
    }
}
