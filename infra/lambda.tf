# The five functions of docs/contract.md: provided.al2023, handler bootstrap, code from scripts/package.

locals {
  # The settings of each function. The report runs one at a time: Identity Center and CloudTrail
  # pace a single caller. A monitor runs its schedules (a judging run or a catch-up) beside at
  # most two batches of evidence from its queue (evidence.tf).
  monitor_concurrency = 3
  functions = {
    "registry-writer" = {
      description          = "Writes users created in the identity store (CloudTrail CreateUser) into the registry; reconciles daily."
      memory_mb            = var.memory_mb.registry_writer
      timeout_seconds      = var.timeout_seconds.registry_writer
      reserved_concurrency = var.registry_reserved_concurrency
    }
    "registry-cleaner" = {
      description          = "Removes users deleted from the identity store (CloudTrail DeleteUser) from the registry; reconciles daily."
      memory_mb            = var.memory_mb.registry_cleaner
      timeout_seconds      = var.timeout_seconds.registry_cleaner
      reserved_concurrency = var.registry_reserved_concurrency
    }
    "password-expiry-monitor" = {
      description          = "PCI DSS 8.3.9: alerts on registry users whose password is older than the limit."
      memory_mb            = var.memory_mb.password_expiry_monitor
      timeout_seconds      = var.timeout_seconds.password_expiry_monitor
      reserved_concurrency = local.monitor_concurrency
    }
    "inactivity-monitor" = {
      description          = "PCI DSS 8.2.6: alerts on registry users with no sign-in within the limit."
      memory_mb            = var.memory_mb.inactivity_monitor
      timeout_seconds      = var.timeout_seconds.inactivity_monitor
      reserved_concurrency = local.monitor_concurrency
    }
    "credential-report" = {
      description          = "PCI DSS 7.2.4: CSV of every account, permission set, group and user assignment with the last sign-in, to S3."
      memory_mb            = var.memory_mb.credential_report
      timeout_seconds      = var.timeout_seconds.credential_report
      reserved_concurrency = 1
    }
  }

  # Exactly the variables docs/contract.md's settings table gives each function, plus the report's tuning
  # (Tests/infra checks this against what the Swift code reads).
  function_environment = {
    "registry-writer" = {
      REGISTRY_TABLE    = aws_dynamodb_table.registry.name
      IDENTITY_STORE_ID = var.identity_store_id
    }
    "registry-cleaner" = {
      REGISTRY_TABLE               = aws_dynamodb_table.registry.name
      IDENTITY_STORE_ID            = var.identity_store_id
      RECONCILE_MAX_REMOVE_PERCENT = tostring(var.reconcile_max_remove_percent)
    }
    "password-expiry-monitor" = {
      REGISTRY_TABLE        = aws_dynamodb_table.registry.name
      ACTIVITY_TABLE        = aws_dynamodb_table.activity.name
      IDENTITY_STORE_ID     = var.identity_store_id
      ALERT_QUEUE_URL       = aws_sqs_queue.alerts.url
      PASSWORD_MAX_AGE_DAYS = tostring(var.password_max_age_days)
      WARNING_DAYS          = tostring(var.warning_days)
      EXCLUDED_USERS        = join(",", var.excluded_users)
      ACTIVITY_SOURCE       = var.activity_source
      FINDINGS              = local.findings
      ALERT_TOPIC_ARN       = local.alert_topic_arn
    }
    "inactivity-monitor" = {
      REGISTRY_TABLE      = aws_dynamodb_table.registry.name
      ACTIVITY_TABLE      = aws_dynamodb_table.activity.name
      IDENTITY_STORE_ID   = var.identity_store_id
      ALERT_QUEUE_URL     = aws_sqs_queue.alerts.url
      INACTIVITY_MAX_DAYS = tostring(var.inactivity_max_days)
      WARNING_DAYS        = tostring(var.warning_days)
      EXCLUDED_USERS      = join(",", var.excluded_users)
      ACTIVITY_SOURCE     = var.activity_source
      FINDINGS            = local.findings
      ALERT_TOPIC_ARN     = local.alert_topic_arn
    }
    "credential-report" = {
      IDENTITY_STORE_ID          = var.identity_store_id
      SSO_INSTANCE_ARN           = var.sso_instance_arn
      ACTIVITY_TABLE             = aws_dynamodb_table.activity.name
      REPORT_BUCKET              = aws_s3_bucket.reports.bucket
      REPORT_PREFIX              = var.report_prefix
      REPORT_LOOKBACK_DAYS       = tostring(var.report_lookback_days)
      ACTIVITY_SOURCE            = var.activity_source
      REPORT_KMS_KEY_ID          = aws_kms_key.reports.arn
      REPORT_CONCURRENCY         = tostring(var.report_concurrency)
      REPORT_REQUESTS_PER_SECOND = tostring(var.report_requests_per_second)
    }
  }

  findings = var.securityhub_findings ? "securityhub" : "none"
  # Empty without a topic: the monitors read an empty variable as unset.
  alert_topic_arn = coalesce(one(aws_sns_topic.alert_topic[*].arn), "")

  # CLOUDTRAIL_LAKE_EVENT_DATA_STORE is set only with activity_source = "lake", and only for
  # the functions that read CloudTrail (lake without a store is stopped by a precondition below).
  lake_environment_functions = ["password-expiry-monitor", "inactivity-monitor", "credential-report"]
  lake_environment           = { CLOUDTRAIL_LAKE_EVENT_DATA_STORE = coalesce(var.cloudtrail_lake_event_data_store, "unset") }
}

# The libraries the bootstraps load that provided.al2023 lacks (scripts/package builds it).
resource "aws_lambda_layer_version" "runtime_libs" {
  layer_name               = "${var.name_prefix}-runtime-libs"
  description              = "Shared libraries of the ${var.name_prefix} Swift functions"
  filename                 = "${local.artifacts_dir}/runtime-libs-layer.zip"
  source_code_hash         = filebase64sha256("${local.artifacts_dir}/runtime-libs-layer.zip")
  compatible_runtimes      = ["provided.al2023"]
  compatible_architectures = [var.architecture]
}

resource "aws_lambda_function" "function" {
  #checkov:skip=CKV_AWS_117:The functions reach only AWS public service endpoints over TLS with SigV4 and no private network resource; VPC placement (with a NAT gateway or an endpoint for each service called) is the deployer's network choice, not a control of this module.
  #checkov:skip=CKV_AWS_272:Code signing is optional and needs an AWS Signer profile and signed artifacts in S3; the zips are built reproducibly by scripts/package and pinned by source_code_hash, and an organisation that signs can add code_signing_config_arn.
  for_each = local.functions

  function_name = local.function_names[each.key]
  description   = each.value.description
  role          = aws_iam_role.function[each.key].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]
  package_type  = "Zip"

  filename         = "${local.artifacts_dir}/${each.key}.zip"
  source_code_hash = filebase64sha256("${local.artifacts_dir}/${each.key}.zip")
  layers           = [aws_lambda_layer_version.runtime_libs.arn]

  memory_size                    = each.value.memory_mb
  timeout                        = each.value.timeout_seconds
  reserved_concurrent_executions = each.value.reserved_concurrency

  kms_key_arn = aws_kms_key.operations.arn
  environment {
    variables = merge(
      local.function_environment[each.key],
      local.lake && contains(local.lake_environment_functions, each.key) ? local.lake_environment : {},
    )
  }

  logging_config {
    log_format            = "JSON"
    application_log_level = var.log_level
    system_log_level      = "INFO"
    log_group             = aws_cloudwatch_log_group.function[each.key].name
  }

  tracing_config {
    mode = "Active"
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.function_dlq[each.key].arn
  }

  lifecycle {
    precondition {
      condition     = var.warning_days < var.password_max_age_days && var.warning_days < var.inactivity_max_days
      error_message = "warning_days must be less than password_max_age_days and inactivity_max_days."
    }
    precondition {
      condition     = !local.lake || var.cloudtrail_lake_event_data_store != null
      error_message = "activity_source = \"lake\" needs cloudtrail_lake_event_data_store."
    }
    precondition {
      condition     = local.lake || var.report_lookback_days <= 90
      error_message = "With activity_source = \"lookup-events\" the report can look back 90 days at most (CloudTrail event history)."
    }
  }

  # The role must be able to write its log group and its dead-letter queue before Lambda accepts the function.
  depends_on = [aws_iam_role_policy.function_runtime]
}

resource "aws_cloudwatch_log_group" "function" {
  for_each = toset(local.products)

  name              = "/aws/lambda/${local.function_names[each.key]}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.operations.arn
}
