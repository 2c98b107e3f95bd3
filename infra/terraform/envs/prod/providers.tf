provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "taskoverflow"
      Environment = var.environment
      ManagedBy   = "terraform"
    }
  }

  # Only CI's offline plan sets offline_plan = true: with dummy credentials and no network the
  # provider must not call STS, the instance metadata service or the region list. A real
  # deployment leaves it false, so bad credentials fail fast.
  skip_credentials_validation = var.offline_plan
  skip_requesting_account_id  = var.offline_plan
  skip_metadata_api_check     = var.offline_plan
  skip_region_validation      = var.offline_plan
}
