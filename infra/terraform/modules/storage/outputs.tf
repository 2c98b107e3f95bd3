output "bucket_name" {
  description = "Name of the calendars bucket (also home of the event archive)."
  value       = aws_s3_bucket.calendars.bucket
}

output "bucket_arn" {
  description = "ARN of the calendars bucket, for IAM policies."
  value       = aws_s3_bucket.calendars.arn
}
