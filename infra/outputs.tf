output "function_names" {
  description = "Lambda function name of each product."
  value       = { for product, function in aws_lambda_function.function : product => function.function_name }
}

output "function_arns" {
  description = "Lambda function ARN of each product."
  value       = { for product, function in aws_lambda_function.function : product => function.arn }
}

output "function_role_arns" {
  description = "Execution role ARN of each product."
  value       = { for product, role in aws_iam_role.function : product => role.arn }
}

output "function_dead_letter_queue_urls" {
  description = "Dead-letter queue URL of each product."
  value       = { for product, queue in aws_sqs_queue.function_dlq : product => queue.url }
}

output "registry_table_name" {
  description = "The DynamoDB registry table."
  value       = aws_dynamodb_table.registry.name
}

output "activity_table_name" {
  description = "The DynamoDB activity ledger of the monitors."
  value       = aws_dynamodb_table.activity.name
}

output "alert_queue_url" {
  description = "The SQS queue the monitors send alerts to."
  value       = aws_sqs_queue.alerts.url
}

output "alert_queue_arn" {
  description = "ARN of the alert queue (for consumers' policies)."
  value       = aws_sqs_queue.alerts.arn
}

output "alert_dead_letter_queue_url" {
  description = "Where alerts go after alert_max_receive_count failed receives."
  value       = aws_sqs_queue.alerts_dlq.url
}

output "report_bucket" {
  description = "The S3 bucket of the credential reports."
  value       = aws_s3_bucket.reports.bucket
}

output "report_location" {
  description = "Where the reports are written."
  value       = "s3://${aws_s3_bucket.reports.bucket}/${var.report_prefix}"
}

output "kms_key_arns" {
  description = "The customer-managed keys: registry, alerts, reports, operations (logs, environment, dead letters, alarm topic)."
  value = {
    registry   = aws_kms_key.registry.arn
    alerts     = aws_kms_key.alerts.arn
    reports    = aws_kms_key.reports.arn
    operations = aws_kms_key.operations.arn
  }
}

output "report_state_machine_arn" {
  description = "The state machine that runs the credential report to completion, one invocation after another."
  value       = aws_sfn_state_machine.credential_report.arn
}

output "report_automation_document" {
  description = "SSM Automation runbook that runs the credential report on demand."
  value       = aws_ssm_document.run_credential_report.name
}

output "report_automation_role_arn" {
  description = "The role the runbook assumes (its AutomationAssumeRole default)."
  value       = aws_iam_role.report_automation.arn
}

output "run_report_command" {
  description = "AWS CLI command that runs the credential report now (lookbackDays optional)."
  value       = "aws ssm start-automation-execution --region ${local.region} --document-name ${aws_ssm_document.run_credential_report.name} --parameters lookbackDays=${var.report_lookback_days}"
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms, when create_alarm_topic."
  value       = one(aws_sns_topic.alarms[*].arn)
}
