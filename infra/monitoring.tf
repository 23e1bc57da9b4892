# Alarms: any function error, and any message waiting in a dead-letter queue, which means an
# event or an alert that nobody has handled.

locals {
  alarm_actions = concat(aws_sns_topic.alarms[*].arn, var.alarm_action_arns)

  dead_letter_queues = merge(
    { for product in local.products : product => aws_sqs_queue.function_dlq[product].name },
    { "alerts" = aws_sqs_queue.alerts_dlq.name },
    { for monitor in local.evidence_monitors : "${monitor}-evidence" => aws_sqs_queue.evidence_dlq[monitor].name },
  )
}

resource "aws_sns_topic" "alarms" {
  count = var.create_alarm_topic ? 1 : 0

  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.operations.arn
}

resource "aws_sns_topic_subscription" "alarm_email" {
  for_each = var.create_alarm_topic ? toset(var.alarm_email_addresses) : toset([])

  topic_arn = aws_sns_topic.alarms[0].arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = toset(local.products)

  alarm_name          = "${local.function_names[each.key]}-errors"
  alarm_description   = "${local.function_names[each.key]} failed an invocation: see /aws/lambda/${local.function_names[each.key]}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.function[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each = local.dead_letter_queues

  alarm_name          = "${each.value}-not-empty"
  alarm_description   = "${each.value} holds messages that were never handled: inspect them, then redrive or delete."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
