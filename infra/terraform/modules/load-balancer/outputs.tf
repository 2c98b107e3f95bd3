output "dns_name" {
  description = "DNS name of the load balancer; point the API's host name (CNAME or alias) at it."
  value       = aws_lb.this.dns_name
}

output "zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = aws_lb.this.zone_id
}

output "target_group_arn" {
  description = "Target group the todo-api service registers its tasks in."
  value       = aws_lb_target_group.api.arn
  # ECS refuses a service whose target group no listener uses yet; whoever reads this output
  # (the ECS service) therefore waits for the listener.
  depends_on = [aws_lb_listener.https]
}

output "security_group_id" {
  description = "Security group of the load balancer; the API tasks accept traffic from it only."
  value       = aws_security_group.alb.id
}

output "arn_suffix" {
  description = "ARN suffix of the load balancer (app/<name>/<id>): the LoadBalancer dimension of its CloudWatch metrics."
  value       = aws_lb.this.arn_suffix
}

output "web_acl_arn" {
  description = "The WAF web ACL guarding the load balancer (its rate-based rules' metrics and sampled requests are in the WAF console)."
  value       = aws_wafv2_web_acl.api.arn
}
