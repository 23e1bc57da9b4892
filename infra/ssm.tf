# On-demand credential report: an SSM Automation runbook that starts the report's state machine
# and waits for it, and the role Automation assumes for it (it may start that state machine and
# read its executions, nothing else).

locals {
  # How long the runbook waits for the state machine: Automation allows a step up to 12 hours
  # (43,200 s); a report that takes longer goes on, and the state machine's alarms report its end.
  report_wait_seconds = min(43200, var.report_max_invocations * (var.timeout_seconds.credential_report + 60))
  max_lookback_days   = local.lake ? 365 : 90
  lookback_days_pattern = (
    local.lake
    ? "^([1-9]|[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-5])$"
    : "^([1-9]|[1-8][0-9]|90)$"
  )
}

resource "aws_ssm_document" "run_credential_report" {
  name            = "${var.name_prefix}-RunCredentialReport"
  document_type   = "Automation"
  document_format = "YAML"
  content = templatefile("${path.module}/documents/run-credential-report.yaml", {
    function_name         = aws_lambda_function.function["credential-report"].function_name
    state_machine_name    = aws_sfn_state_machine.credential_report.name
    state_machine_arn     = aws_sfn_state_machine.credential_report.arn
    wait_seconds          = local.report_wait_seconds
    report_bucket         = aws_s3_bucket.reports.bucket
    report_prefix         = var.report_prefix
    automation_role_arn   = aws_iam_role.report_automation.arn
    default_lookback_days = var.report_lookback_days
    max_lookback_days     = local.max_lookback_days
    lookback_days_pattern = local.lookback_days_pattern
  })
}

data "aws_iam_policy_document" "report_automation_trust" {
  statement {
    sid     = "SystemsManagerAutomationOfThisAccount"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ssm.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:ssm:${local.region}:${local.account_id}:automation-execution/*"]
    }
  }
}

resource "aws_iam_role" "report_automation" {
  name                 = "${var.name_prefix}-report-automation"
  description          = "Assumed by SSM Automation to run ${var.name_prefix}-RunCredentialReport: starts the credential report's state machine only"
  assume_role_policy   = data.aws_iam_policy_document.report_automation_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "report_automation" {
  statement {
    sid       = "StartTheCredentialReportOnly"
    actions   = ["states:StartExecution"]
    resources = [aws_sfn_state_machine.credential_report.arn]
  }
  statement {
    sid       = "FollowItsExecutions"
    actions   = ["states:DescribeExecution"]
    resources = ["arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${aws_sfn_state_machine.credential_report.name}:*"]
  }
}

resource "aws_iam_role_policy" "report_automation" {
  name   = "start-credential-report"
  role   = aws_iam_role.report_automation.id
  policy = data.aws_iam_policy_document.report_automation.json
}
