# On-demand credential report: an SSM Automation runbook that invokes the report function, and
# the role Automation assumes for it (it may invoke that one function, nothing else).

locals {
  max_lookback_days = local.lake ? 365 : 90
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
    function_arn          = aws_lambda_function.function["credential-report"].arn
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
  description          = "Assumed by SSM Automation to run ${var.name_prefix}-RunCredentialReport: invokes the credential report only"
  assume_role_policy   = data.aws_iam_policy_document.report_automation_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "report_automation" {
  statement {
    sid       = "InvokeTheCredentialReportOnly"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.function["credential-report"].arn]
  }
}

resource "aws_iam_role_policy" "report_automation" {
  name   = "invoke-credential-report"
  role   = aws_iam_role.report_automation.id
  policy = data.aws_iam_policy_document.report_automation.json
}
