import AWSClient
import Compliance

/// The alert queue: every message as an SQS message body.
public struct QueueAlertSink: AlertSink {
    let sqs: any SQSAPI
    let queueUrl: String

    public init(sqs: any SQSAPI, queueUrl: String) {
        self.sqs = sqs
        self.queueUrl = queueUrl
    }

    public func send(_ alerts: [Alert]) async throws {
        try await sqs.sendMessageBatch(queueUrl: queueUrl, bodies: alerts.map(\.body))
    }
}

/// The alert topic: the same bodies, each with its subject line for e-mail and chat.
public struct TopicAlertSink: AlertSink {
    let sns: any SNSAPI
    let topicArn: String

    public init(sns: any SNSAPI, topicArn: String) {
        self.sns = sns
        self.topicArn = topicArn
    }

    public func send(_ alerts: [Alert]) async throws {
        for alert in alerts {
            try await sns.publish(topicArn: topicArn, message: alert.body, subject: alert.subject)
        }
    }
}

/// The queue first, then the topic: a failure of either fails the run, loudly.
public struct AlertFanOut: AlertSink {
    let sinks: [any AlertSink]

    public init(sinks: [any AlertSink]) {
        self.sinks = sinks
    }

    public func send(_ alerts: [Alert]) async throws {
        for sink in sinks {
            try await sink.send(alerts)
        }
    }
}
