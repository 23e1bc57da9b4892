# The alert queue the monitors send to (docs/contract.md "Alerts out"), its dead-letter queue, and one
# dead-letter queue per function for the events neither Lambda nor EventBridge could deliver.

locals {
  monitor_role_arns = [for product in ["password-expiry-monitor", "inactivity-monitor"] : aws_iam_role.function[product].arn]

  deny_insecure_transport = {
    Sid       = "DenyInsecureTransport"
    Effect    = "Deny"
    Principal = { AWS = "*" }
    Action    = "sqs:*"
    Condition = { Bool = { "aws:SecureTransport" = "false" } }
  }
}

resource "aws_sqs_queue" "alerts" {
  name                              = "${var.name_prefix}-alerts"
  kms_master_key_id                 = aws_kms_key.alerts.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = var.alert_retention_days * 86400
  # The monitors split alerts into bodies of at most 256 KiB.
  max_message_size = 262144

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.alerts_dlq.arn
    maxReceiveCount     = var.alert_max_receive_count
  })
}

resource "aws_sqs_queue" "alerts_dlq" {
  name                              = "${var.name_prefix}-alerts-dlq"
  kms_master_key_id                 = aws_kms_key.alerts.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 14 * 86400
}

resource "aws_sqs_queue_redrive_allow_policy" "alerts_dlq" {
  queue_url = aws_sqs_queue.alerts_dlq.id
  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.alerts.arn]
  })
}

resource "aws_sqs_queue_policy" "alerts" {
  queue_url = aws_sqs_queue.alerts.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid       = "MonitorsSendAlerts"
          Effect    = "Allow"
          Principal = { AWS = local.monitor_role_arns }
          Action    = "sqs:SendMessage"
          Resource  = aws_sqs_queue.alerts.arn
        },
        {
          Sid       = "NobodyElseSendsAlerts"
          Effect    = "Deny"
          Principal = { AWS = "*" }
          Action    = "sqs:SendMessage"
          Resource  = aws_sqs_queue.alerts.arn
          Condition = { ArnNotEquals = { "aws:PrincipalArn" = local.monitor_role_arns } }
        },
      ],
      length(var.alert_consumer_principal_arns) == 0 ? [] : [{
        Sid       = "ConsumersReceiveAlerts"
        Effect    = "Allow"
        Principal = { AWS = var.alert_consumer_principal_arns }
        Action    = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]
        Resource  = aws_sqs_queue.alerts.arn
      }],
      [merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.alerts.arn })],
    )
  })
}

resource "aws_sqs_queue_policy" "alerts_dlq" {
  queue_url = aws_sqs_queue.alerts_dlq.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.alerts_dlq.arn })]
  })
}

# Each function's dead letters: Lambda's asynchronous invocations that failed every retry (sent
# with the function's role, iam.tf) and events its EventBridge targets could not deliver.
resource "aws_sqs_queue" "function_dlq" {
  for_each = toset(local.products)

  name                              = "${local.function_names[each.key]}-dlq"
  kms_master_key_id                 = aws_kms_key.operations.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 14 * 86400
}

resource "aws_sqs_queue_policy" "function_dlq" {
  for_each = toset(local.products)

  queue_url = aws_sqs_queue.function_dlq[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EventBridgeRulesOfThisFunctionSendDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.function_dlq[each.key].arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = distinct(concat(
              [for target in values(local.event_targets) : aws_cloudwatch_event_rule.rule[target.rule].arn if target.function == each.key],
              [for name, rule in local.evidence_rules : aws_cloudwatch_event_rule.evidence[name].arn if rule.monitor == each.key],
            ))
          }
        }
      },
      merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.function_dlq[each.key].arn }),
    ]
  })
}
