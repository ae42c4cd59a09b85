# title: S3 buckets encrypt objects at rest by default
# severity: high
# resource_types: [aws_s3_bucket]
# description: >
#   A bucket must have a default server-side encryption rule (SSE-S3, SSE-KMS or
#   DSSE-KMS). A plan that leaves the setting unknown (computed at apply, or set in a
#   separate aws_s3_bucket_server_side_encryption_configuration) is not judged.
package stratusec.guardrails.s3_bucket_encryption

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_s3_bucket"
	sse := input.config.server_side_encryption_configuration
	not encrypted(sse)
	msg := sprintf("%s: bucket has no default server-side encryption", [input.resource_name])
}

encrypted(sse) if {
	some rule in lib.as_array(lib.block(sse).rule)
	by_default := lib.block(rule.apply_server_side_encryption_by_default)
	by_default.sse_algorithm in {"AES256", "aws:kms", "aws:kms:dsse"}
}
