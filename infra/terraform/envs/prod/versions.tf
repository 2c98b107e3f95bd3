terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # State is local until you add a backend; for a shared deployment use S3 with locking, e.g.
  #   backend "s3" { bucket = "<state bucket>", key = "taskoverflow/prod.tfstate", region = "us-east-1", use_lockfile = true }
  # (see docs/deploy.md). The offline checks run with -backend=false either way.
}
