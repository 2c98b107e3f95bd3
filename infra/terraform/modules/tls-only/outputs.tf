output "json" {
  description = "The policy document, for another document's source_policy_documents."
  value       = data.aws_iam_policy_document.deny_unencrypted_transport.json
}
