# The service's network identity: peers (the database, the load balancer) allow this group,
# not address ranges.

resource "aws_security_group" "service" {
  name_prefix = "${local.family}-"
  description = "Tasks of the ${var.name} service"
  vpc_id      = var.vpc_id

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "service" {
  for_each = var.ingress

  security_group_id            = aws_security_group.service.id
  description                  = each.key
  referenced_security_group_id = each.value.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = each.value.port
  to_port                      = each.value.port
}

resource "aws_vpc_security_group_egress_rule" "service" {
  for_each = var.egress

  security_group_id            = aws_security_group.service.id
  description                  = each.key
  cidr_ipv4                    = each.value.cidr_ipv4
  referenced_security_group_id = each.value.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = each.value.from_port
  to_port                      = each.value.to_port
}
