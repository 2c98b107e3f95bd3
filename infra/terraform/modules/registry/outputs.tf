output "repository_urls" {
  description = "Per service: the repository URL to tag and push images to (docker push <url>:<tag>)."
  value       = { for service, repository in aws_ecr_repository.service : service => repository.repository_url }
}

output "repository_arns" {
  description = "Per service: the repository ARN, so each task execution role may pull only its own image."
  value       = { for service, repository in aws_ecr_repository.service : service => repository.arn }
}
