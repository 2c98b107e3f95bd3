# The calendars bucket: claim-check storage for big payloads that must not travel in messages
# (snapshots/ from todo-api to ical-worker, calendars/ back), and the event archive
# (event-archive/, every event as NDJSON, for replay). Private and encrypted; calendars and
# snapshots clean themselves up, the archive is kept.

resource "aws_s3_bucket" "calendars" {
  #checkov:skip=CKV_AWS_18:Access logs would need a second bucket; requests are attributable through the task roles and CloudTrail.
  #checkov:skip=CKV_AWS_144:Cross-region replication is not worth it for derived data: a lost calendar can be requested again.
  #checkov:skip=CKV2_AWS_62:Nothing consumes S3 event notifications: completion is announced by the CalendarReady event.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_public_access_block" "calendars" {
  bucket = aws_s3_bucket.calendars.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# ACLs off: access is decided by IAM and the bucket policy alone.
resource "aws_s3_bucket_ownership_controls" "calendars" {
  bucket = aws_s3_bucket.calendars.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# SSE-KMS with the AWS-managed key: encrypted at rest without a key policy to maintain; the bucket
# key cuts the per-object KMS calls (and their cost).
resource "aws_s3_bucket_server_side_encryption_configuration" "calendars" {
  bucket = aws_s3_bucket.calendars.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "aws:kms"
    }
    bucket_key_enabled = true
  }
}

# Versioning protects against a writer overwriting or deleting the wrong key; the lifecycle
# below expires old versions so it costs little.
resource "aws_s3_bucket_versioning" "calendars" {
  bucket = aws_s3_bucket.calendars.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "calendars" {
  bucket = aws_s3_bucket.calendars.id

  rule {
    id     = "expire-old-calendars"
    status = "Enabled"

    filter {
      prefix = var.calendar_prefix
    }

    expiration {
      days = var.calendar_retention_days
    }
  }

  rule {
    id     = "expire-old-snapshots"
    status = "Enabled"

    filter {
      prefix = var.snapshot_prefix
    }

    expiration {
      days = var.snapshot_retention_days
    }
  }

  # Kept for good: replay needs events of any age. Every expiration rule above is scoped to its
  # own prefix, so none reaches event-archive/. Old archive objects only move to a cheaper class
  # that still answers GetObject at once, so the replay CLI reads them without a restore.
  # S3 by default does not transition objects under 128 KiB (they would be billed as 128 KiB),
  # so small batches simply stay in Standard.
  rule {
    id     = "archive-old-events"
    status = "Enabled"

    filter {
      prefix = var.event_archive_prefix
    }

    transition {
      days          = var.event_archive_transition_after_days
      storage_class = var.event_archive_storage_class
    }
  }

  # Bucket-wide, but it never removes a current object: it drops overwritten or deleted
  # versions after a grace period, stale delete markers and abandoned uploads.
  rule {
    id     = "clean-up-versions-and-uploads"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_retention_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # The lifecycle applies to versions, so versioning must exist first.
  depends_on = [aws_s3_bucket_versioning.calendars]
}

module "tls_only" {
  source = "../tls-only"

  actions   = ["s3:*"]
  resources = [aws_s3_bucket.calendars.arn, "${aws_s3_bucket.calendars.arn}/*"]
}

resource "aws_s3_bucket_policy" "calendars" {
  bucket = aws_s3_bucket.calendars.id
  policy = module.tls_only.json

  # Putting a policy before the public access block exists can be rejected as "public".
  depends_on = [aws_s3_bucket_public_access_block.calendars]
}
