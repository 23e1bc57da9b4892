# Triggers: CloudTrail's user lifecycle events for the registry functions, and the schedules.

locals {
  # docs/contract.md "Events in": the console, the Identity Store API and SCIM provisioning.
  lifecycle_event_sources = ["sso-directory.amazonaws.com", "identitystore.amazonaws.com", "identitystore-scim.amazonaws.com"]

  # No "source" key: events of the three sources arrive as aws.sso-directory, aws.identitystore
  # and so on; detail.eventSource names them all.
  lifecycle_event_patterns = {
    "user-created" = {
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource = local.lifecycle_event_sources
        eventName   = ["CreateUser"]
      }
    }
    "user-deleted" = {
      "detail-type" = ["AWS API Call via CloudTrail"]
      detail = {
        eventSource = local.lifecycle_event_sources
        eventName   = ["DeleteUser"]
      }
    }
  }

  event_rules = {
    "user-created" = {
      description         = "CloudTrail CreateUser in the identity store: registry-writer records the user."
      event_pattern       = jsonencode(local.lifecycle_event_patterns["user-created"])
      schedule_expression = null
    }
    "user-deleted" = {
      description         = "CloudTrail DeleteUser in the identity store: registry-cleaner removes the user."
      event_pattern       = jsonencode(local.lifecycle_event_patterns["user-deleted"])
      schedule_expression = null
    }
    "reconcile" = {
      description         = "Daily reconcile of the registry with the identity store (events are delivered best effort)."
      event_pattern       = null
      schedule_expression = var.reconcile_schedule_expression
    }
    "monitors" = {
      description         = "Daily run of the password-expiry and inactivity monitors."
      event_pattern       = null
      schedule_expression = var.monitor_schedule_expression
    }
    "catch-up" = {
      description         = "Catch-up of both monitors: CloudTrail read where the ledger lacks coverage, nothing judged."
      event_pattern       = null
      schedule_expression = var.catch_up_schedule_expression
    }
    "report" = {
      description         = "Weekly credential report."
      event_pattern       = null
      schedule_expression = var.report_schedule_expression
    }
  }

  # Which function each rule invokes, and with what: null passes the event itself (the
  # CloudTrail record, or the Scheduled Event, which the monitors take as a run). The weekly
  # report rule starts the report's state machine instead (stepfunctions.tf).
  event_targets = {
    "user-created-registry-writer"     = { rule = "user-created", function = "registry-writer", input = null }
    "user-deleted-registry-cleaner"    = { rule = "user-deleted", function = "registry-cleaner", input = null }
    "reconcile-registry-writer"        = { rule = "reconcile", function = "registry-writer", input = jsonencode({ reconcile = true }) }
    "reconcile-registry-cleaner"       = { rule = "reconcile", function = "registry-cleaner", input = jsonencode({ reconcile = true }) }
    "monitors-password-expiry-monitor" = { rule = "monitors", function = "password-expiry-monitor", input = null }
    "monitors-inactivity-monitor"      = { rule = "monitors", function = "inactivity-monitor", input = null }
    "catch-up-password-expiry-monitor" = { rule = "catch-up", function = "password-expiry-monitor", input = jsonencode({ catchUp = true }) }
    "catch-up-inactivity-monitor"      = { rule = "catch-up", function = "inactivity-monitor", input = jsonencode({ catchUp = true }) }
  }
}

resource "aws_cloudwatch_event_rule" "rule" {
  for_each = local.event_rules

  name                = "${var.name_prefix}-${each.key}"
  description         = each.value.description
  event_pattern       = each.value.event_pattern
  schedule_expression = each.value.schedule_expression
}

resource "aws_cloudwatch_event_target" "function" {
  for_each = local.event_targets

  rule      = aws_cloudwatch_event_rule.rule[each.value.rule].name
  target_id = each.value.function
  arn       = aws_lambda_function.function[each.value.function].arn
  input     = each.value.input

  # EventBridge retries a failed delivery for a day, then leaves the event in the function's DLQ.
  retry_policy {
    maximum_event_age_in_seconds = 86400
    maximum_retry_attempts       = 185
  }

  dead_letter_config {
    arn = aws_sqs_queue.function_dlq[each.value.function].arn
  }
}

resource "aws_lambda_permission" "events" {
  for_each = local.event_targets

  statement_id  = "AllowEventBridgeRule-${each.value.rule}"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.function[each.value.function].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.rule[each.value.rule].arn
}
