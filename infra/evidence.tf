# Evidence as it happens (the activity ledger): CloudTrail's password changes, sign-ins and role
# sign-ins reach the monitors through EventBridge rules and one SQS queue per monitor, so that a
# judging run finds the registry up to date and reads only a little of CloudTrail.

locals {
  # Each rule, the monitor that takes its events, and its EventBridge state: role sign-ins
  # (Federate, GetRoleCredentials) are read-only events, which a rule receives only when it
  # asks for all management events.
  evidence_rules = {
    "password-changes" = {
      monitor     = "password-expiry-monitor"
      description = "CloudTrail UpdatePassword: password-expiry-monitor records the change in the registry."
      state       = "ENABLED"
      pattern = {
        "detail-type" = ["AWS API Call via CloudTrail"]
        detail = {
          eventSource = ["sso-directory.amazonaws.com"]
          eventName   = ["UpdatePassword"]
          errorCode   = [{ exists = false }]
        }
      }
    }
    "sign-ins" = {
      monitor     = "inactivity-monitor"
      description = "Identity Center sign-ins: inactivity-monitor records them in the registry."
      state       = "ENABLED"
      # Only successful sign-ins: a failed verification is logged as CredentialVerification too.
      pattern = {
        "detail-type" = ["AWS Service Event via CloudTrail"]
        detail = {
          errorCode = [{ exists = false }]
          "$or" = [
            { eventSource = ["signin.amazonaws.com"], eventName = ["UserAuthentication"] },
            {
              eventSource         = ["signin.amazonaws.com"]
              eventName           = ["CredentialVerification"]
              serviceEventDetails = { CredentialVerification = ["Success"] }
            },
            { eventSource = ["sso.amazonaws.com"], eventName = ["Authenticate"] },
          ]
        }
      }
    }
    "role-sign-ins" = {
      monitor     = "inactivity-monitor"
      description = "Role sign-ins through a permission set: inactivity-monitor records them in the activity ledger for the credential report."
      state       = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
      pattern = {
        detail = {
          eventSource = ["sso.amazonaws.com"]
          eventName   = ["Federate", "GetRoleCredentials"]
          errorCode   = [{ exists = false }]
        }
      }
    }
  }

  evidence_monitors = toset([for rule in values(local.evidence_rules) : rule.monitor])
}

resource "aws_cloudwatch_event_rule" "evidence" {
  for_each = local.evidence_rules

  name          = "${var.name_prefix}-${each.key}"
  description   = each.value.description
  event_pattern = jsonencode(each.value.pattern)
  state         = each.value.state
}

resource "aws_cloudwatch_event_target" "evidence" {
  for_each = local.evidence_rules

  rule      = aws_cloudwatch_event_rule.evidence[each.key].name
  target_id = "${each.value.monitor}-evidence"
  arn       = aws_sqs_queue.evidence[each.value.monitor].arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.function_dlq[each.value.monitor].arn
  }
}

# Visibility six times the function's timeout, as Lambda asks of a queue it reads; a message that
# failed five times (a body that is no CloudTrail event, a write that kept failing) goes to the
# dead-letter queue, whose alarm is in monitoring.tf.
resource "aws_sqs_queue" "evidence" {
  for_each = local.evidence_monitors

  name                              = "${local.function_names[each.key]}-evidence"
  kms_master_key_id                 = aws_kms_key.operations.arn
  kms_data_key_reuse_period_seconds = 300
  visibility_timeout_seconds        = 6 * local.functions[each.key].timeout_seconds
  message_retention_seconds         = 4 * 86400

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.evidence_dlq[each.key].arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue" "evidence_dlq" {
  for_each = local.evidence_monitors

  name                              = "${local.function_names[each.key]}-evidence-dlq"
  kms_master_key_id                 = aws_kms_key.operations.arn
  kms_data_key_reuse_period_seconds = 300
  message_retention_seconds         = 14 * 86400
}

resource "aws_sqs_queue_policy" "evidence" {
  for_each = local.evidence_monitors

  queue_url = aws_sqs_queue.evidence[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "EvidenceRulesSendEvents"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = "sqs:SendMessage"
        Resource  = aws_sqs_queue.evidence[each.key].arn
        Condition = {
          ArnEquals = {
            "aws:SourceArn" = [for name, rule in local.evidence_rules : aws_cloudwatch_event_rule.evidence[name].arn if rule.monitor == each.key]
          }
        }
      },
      merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.evidence[each.key].arn }),
    ]
  })
}

resource "aws_sqs_queue_policy" "evidence_dlq" {
  for_each = local.evidence_monitors

  queue_url = aws_sqs_queue.evidence_dlq[each.key].id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [merge(local.deny_insecure_transport, { Resource = aws_sqs_queue.evidence_dlq[each.key].arn })]
  })
}

# Batches of up to 100 events, gathered for up to 30 seconds: a busy organisation's sign-ins
# arrive as a few invocations a minute rather than one each, and a quiet one's within half a
# minute. Two concurrent batches at most, so a judging run or a catch-up always has a slot of
# the monitor's reserved concurrency (lambda.tf).
resource "aws_lambda_event_source_mapping" "evidence" {
  for_each = local.evidence_monitors

  event_source_arn                   = aws_sqs_queue.evidence[each.key].arn
  function_name                      = aws_lambda_function.function[each.key].arn
  batch_size                         = 100
  maximum_batching_window_in_seconds = 30
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = 2
  }

  # The role must be able to read the queue before Lambda accepts the mapping.
  depends_on = [aws_iam_role_policy.function_runtime]
}
