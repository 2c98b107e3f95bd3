# Inputs for the offline plan in scripts/infra_check.sh: dummy values that let `terraform plan`
# run with no AWS account. Nothing here is deployed.
offline_plan    = true
image_tag       = "offline-ci"
certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
public_base_url = "https://todo.example.com"

notifier_webhook_secret_arn  = "arn:aws:secretsmanager:us-east-1:123456789012:secret:taskoverflow/notifier-webhook-AbCdEf"
notifier_smtp_url_secret_arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:taskoverflow/notifier-smtp-AbCdEf"
alarm_email                  = "oncall@example.com"
