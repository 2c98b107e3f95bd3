output "issuer" {
  description = "The tokens' `iss`: AUTH_ISSUER of the API. OIDC discovery lives under it (/.well-known/openid-configuration)."
  value       = "https://${aws_cognito_user_pool.users.endpoint}"
}

output "jwks_url" {
  description = "The pool's signing keys: AUTH_JWKS_URL of the API."
  value       = "https://${aws_cognito_user_pool.users.endpoint}/.well-known/jwks.json"
}

output "client_id" {
  description = "The web page's app client id: the `aud` of its ID tokens (and `client_id` of its access tokens), AUTH_AUDIENCE of the API."
  value       = aws_cognito_user_pool_client.web_page.id
}

output "hosted_ui_url" {
  description = "Base URL of the hosted sign-in pages (/oauth2/authorize, /oauth2/token, /logout)."
  value       = "https://${aws_cognito_user_pool_domain.hosted_ui.domain}.auth.${data.aws_region.current.name}.amazoncognito.com"
}

output "user_pool_id" {
  description = "Id of the user pool (aws cognito-idp admin-create-user --user-pool-id <id> ...)."
  value       = aws_cognito_user_pool.users.id
}
