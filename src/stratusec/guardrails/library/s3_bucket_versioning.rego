# title: S3 buckets keep object versions
# severity: medium
# resource_types: [aws_s3_bucket, aws_s3_bucket_versioning]
# description: >
#   Versioning is enabled, so that overwritten or deleted objects can be recovered.
package stratusec.guardrails.s3_bucket_versioning

import data.stratusec.lib

enabled(v) if lib.block(v).status == "Enabled"

enabled(v) if lib.block(v).enabled == true

deny contains msg if {
	input.resource_type == "aws_s3_bucket"
	v := input.config.versioning
	not enabled(v)
	msg := sprintf("%s: bucket versioning is not enabled", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_s3_bucket_versioning"
	not enabled(input.config.versioning_configuration)
	msg := sprintf("%s: versioning_configuration status is not Enabled", [input.resource_name])
}
