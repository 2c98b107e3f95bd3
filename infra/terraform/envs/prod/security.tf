# Users: who may call the API. A Cognito user pool by default, or an external OIDC issuer given
# in auth_external_issuer. Either way the API task gets the three AUTH_* settings and refuses
# to be deployed without them (services.tf: required_environment).

module "auth" {
  source = "../../modules/auth"
  count  = var.auth_external_issuer == null ? 1 : 0

  name                = var.name
  domain_prefix       = coalesce(var.auth_domain_prefix, "${var.name}-users")
  callback_urls       = local.auth_return_urls
  logout_urls         = local.auth_return_urls
  self_sign_up        = var.auth_self_sign_up
  deletion_protection = var.deletion_protection
}

locals {
  # The web page is served by the API at its root; the hosted pages send users back there.
  auth_return_urls = coalesce(var.auth_callback_urls, ["${trimsuffix(var.public_base_url, "/")}/"])

  auth_settings = var.auth_external_issuer != null ? {
    AUTH_JWKS_URL = var.auth_external_issuer.jwks_url
    AUTH_ISSUER   = var.auth_external_issuer.issuer
    AUTH_AUDIENCE = var.auth_external_issuer.audience
    } : {
    AUTH_JWKS_URL = module.auth[0].jwks_url
    AUTH_ISSUER   = module.auth[0].issuer
    AUTH_AUDIENCE = module.auth[0].client_id
  }
}
