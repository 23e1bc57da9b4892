# The credential report at any size: a state machine invokes the report, and again with its
# continuation while it answers "complete": false. The weekly schedule and the SSM document start
# it; its role may invoke the report and nothing else.

resource "aws_sfn_state_machine" "credential_report" {
  name     = "${var.name_prefix}-credential-report"
  role_arn = aws_iam_role.report_state_machine.arn
  definition = templatefile("${path.module}/state-machines/credential-report.asl.json.tftpl", {
    partition       = local.partition
    function_name   = aws_lambda_function.function["credential-report"].function_name
    function_arn    = aws_lambda_function.function["credential-report"].arn
    max_rounds      = var.report_max_invocations
    timeout_seconds = var.report_max_invocations * (var.timeout_seconds.credential_report + 60)
  })

  # Every state with its input and output: each invocation's answer (counts, the continuation,
  # the report's location), never a credential; the log group is encrypted like the functions'.
  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.report_state_machine.arn}:*"
    include_execution_data = true
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }
}

resource "aws_cloudwatch_log_group" "report_state_machine" {
  name              = "/aws/vendedlogs/states/${var.name_prefix}-credential-report"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.operations.arn
}

data "aws_iam_policy_document" "report_state_machine_trust" {
  statement {
    sid     = "StepFunctionsOfThisAccount"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "report_state_machine" {
  name                 = "${var.name_prefix}-report-state-machine"
  description          = "Assumed by ${var.name_prefix}-credential-report: invokes the credential report only"
  assume_role_policy   = data.aws_iam_policy_document.report_state_machine_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "report_state_machine" {
  statement {
    sid       = "InvokeTheCredentialReportOnly"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.function["credential-report"].arn]
  }
  # Step Functions delivers its own logs through CloudWatch Logs' vended delivery, whose actions
  # take no resource (AWS: "IAM policies for logging to CloudWatch Logs").
  statement {
    sid = "DeliverExecutionLogs"
    actions = [
      "logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }
  statement {
    sid       = "SendTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "report_state_machine" {
  name   = "invoke-credential-report"
  role   = aws_iam_role.report_state_machine.id
  policy = data.aws_iam_policy_document.report_state_machine.json
}

# The weekly schedule starts an execution (EventBridge assumes this role to do it).
resource "aws_cloudwatch_event_target" "report_state_machine" {
  rule      = aws_cloudwatch_event_rule.rule["report"].name
  target_id = "credential-report-state-machine"
  arn       = aws_sfn_state_machine.credential_report.arn
  role_arn  = aws_iam_role.report_schedule.arn

  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.function_dlq["credential-report"].arn
  }
}

data "aws_iam_policy_document" "report_schedule_trust" {
  statement {
    sid     = "EventBridgeOfThisAccount"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "report_schedule" {
  name                 = "${var.name_prefix}-report-schedule"
  description          = "Assumed by EventBridge's weekly rule: starts ${var.name_prefix}-credential-report only"
  assume_role_policy   = data.aws_iam_policy_document.report_schedule_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "report_schedule" {
  statement {
    sid       = "StartTheCredentialReportOnly"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.credential_report.arn]
  }
}

resource "aws_iam_role_policy" "report_schedule" {
  name   = "start-credential-report"
  role   = aws_iam_role.report_schedule.id
  policy = data.aws_iam_policy_document.report_schedule.json
}

# An execution that fails (an error of the report, or more than report_max_invocations
# invocations), times out or is stopped means no weekly evidence for PCI DSS 7.2.4.
resource "aws_cloudwatch_metric_alarm" "report_state_machine" {
  for_each = toset(["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"])

  alarm_name          = "${var.name_prefix}-credential-report-${lower(trimprefix(each.key, "Executions"))}"
  alarm_description   = "${var.name_prefix}-credential-report: an execution ${lower(trimprefix(each.key, "Executions"))}; the week's credential report is missing. See the execution's history and /aws/lambda/${local.function_names["credential-report"]}."
  namespace           = "AWS/States"
  metric_name         = each.key
  dimensions          = { StateMachineArn = aws_sfn_state_machine.credential_report.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
