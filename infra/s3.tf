# The credential reports: <report_prefix>credential_report-<time>.csv, written by credential-report only.
resource "aws_s3_bucket" "reports" {
  #checkov:skip=CKV_AWS_144:Cross-region replication needs a second-region bucket and key owned by the organisation's backup design; PCI DSS asks for retention and integrity, met here by versioning, lifecycle and optional Object Lock.
  #checkov:skip=CKV2_AWS_62:Nothing consumes report-created events; a notification configuration with no destination would be dead configuration.
  bucket = local.report_bucket_name
  # Object Lock can only be chosen when the bucket is made.
  object_lock_enabled = var.report_object_lock_days > 0
}

resource "aws_s3_bucket_ownership_controls" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "reports" {
  bucket                  = aws_s3_bucket.reports.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "reports" {
  bucket = aws_s3_bucket.reports.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.reports.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "reports" {
  bucket = aws_s3_bucket.reports.id

  rule {
    id     = "expire-reports"
    status = "Enabled"
    filter {}

    expiration {
      days = var.report_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = var.report_noncurrent_version_retention_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # A long report's progress between invocations: removed once the report is written, and by
  # this rule when a run was abandoned (the report refuses a continuation older than 7 days).
  rule {
    id     = "expire-report-progress"
    status = "Enabled"
    filter {
      prefix = "${var.report_prefix}progress/"
    }

    expiration {
      days = 7
    }
    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"
    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.reports]
}

resource "aws_s3_bucket_object_lock_configuration" "reports" {
  count  = var.report_object_lock_days > 0 ? 1 : 0
  bucket = aws_s3_bucket.reports.id

  rule {
    default_retention {
      mode = var.report_object_lock_mode
      days = var.report_object_lock_days
    }
  }

  lifecycle {
    precondition {
      condition     = var.report_object_lock_days <= var.report_retention_days
      error_message = "report_object_lock_days must not exceed report_retention_days: the lifecycle rule could not expire locked reports."
    }
  }

  depends_on = [aws_s3_bucket_versioning.reports]
}

resource "aws_s3_bucket_logging" "reports" {
  count         = var.report_access_log_bucket == null ? 0 : 1
  bucket        = aws_s3_bucket.reports.id
  target_bucket = var.report_access_log_bucket
  target_prefix = "s3-access/${local.report_bucket_name}/"
}

resource "aws_s3_bucket_policy" "reports" {
  bucket = aws_s3_bucket.reports.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.reports.arn, "${aws_s3_bucket.reports.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyTLSBelow12"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.reports.arn, "${aws_s3_bucket.reports.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
      {
        Sid       = "DenyEncryptionOtherThanKMS"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.reports.arn}/*"
        Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption" = "aws:kms" } }
      },
      {
        # Reports are written with the report key (REPORT_KMS_KEY_ID) or take it by default: no other key.
        Sid       = "DenyOtherEncryptionKeys"
        Effect    = "Deny"
        Principal = { AWS = "*" }
        Action    = "s3:PutObject"
        Resource  = "${aws_s3_bucket.reports.arn}/*"
        Condition = { StringNotEqualsIfExists = { "s3:x-amz-server-side-encryption-aws-kms-key-id" = aws_kms_key.reports.arn } }
      },
    ]
  })

  depends_on = [aws_s3_bucket_public_access_block.reports]
}
