import AWSClient
import Compliance

/// The alert queue: every message as an SQS message body.
struct QueueAlertSink: AlertSink {
    let sqs: any SQSAPI
    let queueUrl: String

    func send(_ alerts: [Alert]) async throws {
        try await sqs.sendMessageBatch(queueUrl: queueUrl, bodies: alerts.map(\.body))
    }
}

/// The alert topic: the same bodies, each with its subject line for e-mail and chat.
struct TopicAlertSink: AlertSink {
    let sns: any SNSAPI
    let topicArn: String

    func send(_ alerts: [Alert]) async throws {
        for alert in alerts {
            try await sns.publish(topicArn: topicArn, message: alert.body, subject: alert.subject)
        }
    }
}

/// The queue first, then the topic: a failure of either fails the run, loudly.
struct AlertFanOut: AlertSink {
    let sinks: [any AlertSink]

    func send(_ alerts: [Alert]) async throws {
        for sink in sinks {
            try await sink.send(alerts)
        }
    }
}
