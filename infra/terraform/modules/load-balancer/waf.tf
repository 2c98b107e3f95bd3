# Abuse limits at the edge: a WAF web ACL on the load balancer. Each client address gets a budget
# of requests per five minutes, and a much smaller one for calendar requests (each snapshots the
# owner's todos and renders them); past it the WAF answers 429 in the API's own error shape,
# before a request reaches a task. The application's per-user limits sit behind this one.

locals {
  too_many_requests_body = "too-many-requests"
}

resource "aws_wafv2_web_acl" "api" {
  name        = var.name
  description = "Rate limits per client address in front of ${var.name}"
  scope       = "REGIONAL"

  default_action {
    allow {}
  }

  custom_response_body {
    key          = local.too_many_requests_body
    content_type = "APPLICATION_JSON"
    content      = jsonencode({ error = "too many requests from this address; try again in a few minutes" })
  }

  # Tried first: a flood of calendar requests is blocked even when the overall budget is not spent.
  rule {
    name     = "calendar-requests-per-client-address"
    priority = 0

    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = local.too_many_requests_body
          response_header {
            name  = "Retry-After"
            value = "300"
          }
        }
      }
    }

    statement {
      rate_based_statement {
        limit                 = var.calendar_requests_per_five_minutes
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"

        scope_down_statement {
          and_statement {
            statement {
              byte_match_statement {
                search_string         = "POST"
                positional_constraint = "EXACTLY"
                field_to_match {
                  method {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
            statement {
              byte_match_statement {
                search_string         = var.calendar_request_path
                positional_constraint = "STARTS_WITH"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "LOWERCASE"
                }
              }
            }
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-calendar-requests-rate"
      sampled_requests_enabled   = true
    }
  }

  rule {
    name     = "requests-per-client-address"
    priority = 1

    action {
      block {
        custom_response {
          response_code            = 429
          custom_response_body_key = local.too_many_requests_body
          response_header {
            name  = "Retry-After"
            value = "300"
          }
        }
      }
    }

    statement {
      rate_based_statement {
        limit                 = var.requests_per_five_minutes
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-requests-rate"
      sampled_requests_enabled   = true
    }
  }

  # Request patterns known to exploit common software (Log4Shell and the like): free of charge
  # beyond the ACL's request fee, and no false positives on a JSON API.
  rule {
    name     = "known-bad-inputs"
    priority = 2

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  # Anonymising proxies (Tor exits, open proxies) are how one client wears many addresses to get
  # round a per-address limit. Cloud hosting ranges are only counted: corporate proxies and
  # legitimate integrations live there too.
  rule {
    name     = "anonymous-addresses"
    priority = 3

    override_action {
      none {}
    }

    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"

        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }

    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-anonymous-addresses"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "api" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.api.arn
}

# WAF only logs to a log group whose name starts with "aws-waf-logs-".
resource "aws_cloudwatch_log_group" "waf" {
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; a customer-managed key adds a key policy to maintain and no protection this threat model needs.
  #checkov:skip=CKV_AWS_338:Retention is a variable (default 30 days): the logs explain a block, they are not an audit trail.
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.waf_log_retention_days
}

resource "aws_wafv2_web_acl_logging_configuration" "api" {
  resource_arn            = aws_wafv2_web_acl.api.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]

  # Bearer tokens must not end up in the logs.
  redacted_fields {
    single_header {
      name = "authorization"
    }
  }
}
