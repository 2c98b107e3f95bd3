# Who may use the API: a Cognito user pool, the web page's app client and the hosted sign-in
# pages. The page signs users in with the authorization-code flow and PKCE (a public client:
# a browser cannot keep a secret); the API verifies the tokens against the pool's JWKS.

resource "aws_cognito_user_pool" "users" {
  name = var.name

  # People sign in with their e-mail address, which Cognito verifies: the notifier mails
  # calendars only to a verified `email` claim.
  username_attributes      = ["email"]
  auto_verified_attributes = ["email"]
  deletion_protection      = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  mfa_configuration        = "OPTIONAL"

  software_token_mfa_configuration {
    enabled = true
  }

  admin_create_user_config {
    allow_admin_create_user_only = !var.self_sign_up
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 3
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }
}

resource "aws_cognito_user_pool_client" "web_page" {
  name         = "${var.name}-web-page"
  user_pool_id = aws_cognito_user_pool.users.id

  # A public client: no secret, the authorization code is bound to the page's PKCE verifier.
  generate_secret                      = false
  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = var.callback_urls
  logout_urls                          = var.logout_urls
  # Sign-in happens on the hosted pages only; the page itself never sees a password.
  explicit_auth_flows = ["ALLOW_REFRESH_TOKEN_AUTH"]

  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true
  access_token_validity         = 60
  id_token_validity             = 60
  refresh_token_validity        = 24
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "hours"
  }
}

resource "aws_cognito_user_pool_domain" "hosted_ui" {
  domain       = var.domain_prefix
  user_pool_id = aws_cognito_user_pool.users.id
}

data "aws_region" "current" {}
