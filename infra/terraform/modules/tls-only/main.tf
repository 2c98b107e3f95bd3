# The statement every resource policy of ours starts from: refuse any request that did not
# arrive over TLS. Its callers merge it into their own policy with `source_policy_documents`.

data "aws_iam_policy_document" "deny_unencrypted_transport" {
  statement {
    sid       = "DenyUnencryptedTransport"
    effect    = "Deny"
    actions   = var.actions
    resources = var.resources

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}
