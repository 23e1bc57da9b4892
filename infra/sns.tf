# The alert topic (create_alert_topic): every alert the queue gets, for people, by e-mail or any
# other SNS subscription. Encrypted with the alerts' key; only the monitors may publish.

resource "aws_sns_topic" "alert_topic" {
  count = var.create_alert_topic ? 1 : 0

  name              = "${var.name_prefix}-alert-topic"
  kms_master_key_id = aws_kms_key.alerts.arn
}

resource "aws_sns_topic_policy" "alert_topic" {
  count = var.create_alert_topic ? 1 : 0

  arn = aws_sns_topic.alert_topic[0].arn
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "MonitorsPublishAlerts"
        Effect    = "Allow"
        Principal = { AWS = local.monitor_role_arns }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alert_topic[0].arn
      },
      {
        Sid       = "NobodyElsePublishesAlerts"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "sns:Publish"
        Resource  = aws_sns_topic.alert_topic[0].arn
        Condition = { ArnNotEquals = { "aws:PrincipalArn" = local.monitor_role_arns } }
      },
      merge(local.deny_insecure_transport, { Action = "sns:*", Resource = aws_sns_topic.alert_topic[0].arn }),
    ]
  })
}

resource "aws_sns_topic_subscription" "alert_email" {
  for_each = var.create_alert_topic ? toset(var.alert_email_addresses) : toset([])

  topic_arn = aws_sns_topic.alert_topic[0].arn
  protocol  = "email"
  endpoint  = each.value
}
