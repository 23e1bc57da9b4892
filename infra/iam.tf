# One role per function. Its AWS permissions are policies/<product>.json, the same templates the
# integration tests give each function in the local rig; its runtime permissions (own log group,
# X-Ray, own dead-letter queue) are below.

locals {
  # The templates' placeholders (Tests/e2e/conftest.py renders the same names).
  policy_values = {
    partition            = local.partition
    region               = local.region
    account_id           = local.account_id
    identity_store_arn   = local.identity_store_arn
    instance_arn         = var.sso_instance_arn
    sso_instance_id      = local.sso_instance_id
    registry_table_arn   = aws_dynamodb_table.registry.arn
    activity_table_arn   = aws_dynamodb_table.activity.arn
    alert_queue_arn      = aws_sqs_queue.alerts.arn
    alert_topic_arn      = one(aws_sns_topic.alert_topic[*].arn)
    report_bucket_arn    = aws_s3_bucket.reports.arn
    report_prefix        = var.report_prefix
    event_data_store_arn = local.event_data_store_arn
    registry_kms_key_arn = aws_kms_key.registry.arn
    alert_kms_key_arn    = aws_kms_key.alerts.arn
    report_kms_key_arn   = aws_kms_key.reports.arn
  }

  rendered_policies = { for product in local.products : product => jsondecode(templatefile("${path.module}/policies/${product}.json", local.policy_values)) }

  # Statements for what a deployment leaves out are dropped: CloudTrail Lake's without an event
  # data store, Security Hub's without findings, the alert topic's without a topic.
  dropped_statements = concat(
    local.lake ? [] : ["QueryCloudTrailLake"],
    var.securityhub_findings ? [] : ["KeepFindings"],
    var.create_alert_topic ? [] : ["PublishAlerts", "EncryptPublishedAlerts"],
  )
  function_policies = {
    for product, policy in local.rendered_policies : product => merge(policy, {
      Statement = [for statement in policy.Statement : statement if !contains(local.dropped_statements, try(statement.Sid, ""))]
    })
  }
}

data "aws_iam_policy_document" "lambda_trust" {
  statement {
    sid     = "LambdaAssumesTheFunctionRole"
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "function" {
  for_each = toset(local.products)

  name                 = local.function_names[each.key]
  description          = "Execution role of ${local.function_names[each.key]}"
  assume_role_policy   = data.aws_iam_policy_document.lambda_trust.json
  permissions_boundary = var.permissions_boundary_arn
}

# What the function does in AWS: policies/<product>.json with this deployment's ARNs.
resource "aws_iam_role_policy" "function" {
  for_each = toset(local.products)

  name   = "least-privilege"
  role   = aws_iam_role.function[each.key].id
  policy = jsonencode(local.function_policies[each.key])
}

# What running on Lambda needs: AWSLambdaBasicExecutionRole for its own log group only, X-Ray's
# write actions (which take no resource), and its own dead-letter queue.
data "aws_iam_policy_document" "function_runtime" {
  for_each = toset(local.products)

  statement {
    sid       = "WriteOwnLogGroup"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.function[each.key].arn}:*"]
  }

  statement {
    sid       = "WriteTraces"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "SendDeadLetters"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.function_dlq[each.key].arn]
  }

  # The monitors' evidence queue, which Lambda reads with the function's role (evidence.tf).
  dynamic "statement" {
    for_each = contains(local.evidence_monitors, each.key) ? [aws_sqs_queue.evidence[each.key].arn] : []
    content {
      sid       = "ReadEvidenceQueue"
      actions   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "EncryptDeadLetters"
    actions   = ["kms:GenerateDataKey", "kms:Decrypt"]
    resources = [aws_kms_key.operations.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["sqs.${local.region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "function_runtime" {
  for_each = toset(local.products)

  name   = "lambda-runtime"
  role   = aws_iam_role.function[each.key].id
  policy = data.aws_iam_policy_document.function_runtime[each.key].json
}
