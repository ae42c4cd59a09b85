# title: S3 bucket policies refuse plain HTTP
# severity: medium
# resource_types: [aws_s3_bucket, aws_s3_bucket_policy]
# description: >
#   The bucket policy denies requests made without TLS (a Deny statement on
#   aws:SecureTransport = false).
package stratusec.guardrails.s3_bucket_secure_transport

import data.stratusec.lib

denies_insecure(doc) if {
	some s in lib.statements(doc)
	s.Effect == "Deny"
	some op, condition in s.Condition
	op in {"Bool", "BoolIfExists"}
	some key in object.keys(condition)
	lower(key) == "aws:securetransport"
	some value in lib.as_array(condition[key])
	value in {"false", false}
}

deny contains msg if {
	input.resource_type in {"aws_s3_bucket", "aws_s3_bucket_policy"}
	policy := input.config.policy
	not denies_insecure(lib.document(policy))
	msg := sprintf("%s: bucket policy does not deny requests without TLS (aws:SecureTransport)", [input.resource_name])
}
