# Customer-managed keys, one per kind of data, each rotated yearly. The account root statement
# is the AWS default: it lets IAM policies in this account grant use of the key, which is how the
# functions' roles get theirs (always through kms:ViaService, see policies/*.json and iam.tf).

locals {
  key_admin_statement = {
    Sid       = "AccountAdministersKeyThroughIAM"
    Effect    = "Allow"
    Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
    Action    = "kms:*"
    Resource  = "*"
  }
}

# The registry table (DynamoDB SSE).
resource "aws_kms_key" "registry" {
  description             = "${var.name_prefix}: the Identity Center user registry (DynamoDB)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.key_admin_statement]
  })
}

resource "aws_kms_alias" "registry" {
  name          = "alias/${var.name_prefix}-registry"
  target_key_id = aws_kms_key.registry.key_id
}

# The alert queue and its dead-letter queue (SQS SSE); the consumers decrypt what they receive.
resource "aws_kms_key" "alerts" {
  description             = "${var.name_prefix}: compliance alerts (SQS queue, SNS topic)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([local.key_admin_statement], length(var.alert_consumer_principal_arns) == 0 ? [] : [{
      Sid       = "AlertConsumersDecryptThroughSQS"
      Effect    = "Allow"
      Principal = { AWS = var.alert_consumer_principal_arns }
      Action    = ["kms:Decrypt"]
      Resource  = "*"
      Condition = { StringEquals = { "kms:ViaService" = "sqs.${local.region}.amazonaws.com" } }
    }])
  })
}

resource "aws_kms_alias" "alerts" {
  name          = "alias/${var.name_prefix}-alerts"
  target_key_id = aws_kms_key.alerts.key_id
}

# The credential reports (S3 SSE-KMS with a bucket key); REPORT_KMS_KEY_ID of the report.
resource "aws_kms_key" "reports" {
  description             = "${var.name_prefix}: credential reports (S3)"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [local.key_admin_statement]
  })
}

resource "aws_kms_alias" "reports" {
  name          = "alias/${var.name_prefix}-reports"
  target_key_id = aws_kms_key.reports.key_id
}

# Operations: the functions' log groups, environment variables and dead-letter queues, and the
# alarm topic. Each service gets only what it needs, for this deployment's resources only.
resource "aws_kms_key" "operations" {
  description             = "${var.name_prefix}: logs, environment, dead letters and alarms of the functions"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_key_deletion_window_days
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      local.key_admin_statement,
      {
        Sid       = "CloudWatchLogsEncryptsTheFunctionLogGroups"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
        Resource  = "*"
        Condition = {
          ArnLike = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:/aws/lambda/${var.name_prefix}-*"
          }
        }
      },
      {
        Sid       = "EventBridgeWritesDeadLetters"
        Effect    = "Allow"
        Principal = { Service = "events.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource  = "*"
        Condition = {
          StringEquals = { "aws:SourceAccount" = local.account_id }
          ArnLike      = { "aws:SourceArn" = "arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name_prefix}-*" }
        }
      },
      {
        Sid       = "CloudWatchAlarmsPublishToTheEncryptedTopic"
        Effect    = "Allow"
        Principal = { Service = "cloudwatch.amazonaws.com" }
        Action    = ["kms:Decrypt", "kms:GenerateDataKey*"]
        Resource  = "*"
      },
    ]
  })
}

resource "aws_kms_alias" "operations" {
  name          = "alias/${var.name_prefix}-operations"
  target_key_id = aws_kms_key.operations.key_id
}
