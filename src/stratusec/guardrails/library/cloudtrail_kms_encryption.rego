# title: CloudTrail logs are encrypted with KMS
# severity: medium
# resource_types: [aws_cloudtrail]
# description: >
#   The trail encrypts its logs with a customer managed KMS key (kms_key_id is set;
#   CIS AWS 3.5).
package stratusec.guardrails.cloudtrail_kms_encryption

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_cloudtrail"
	not lib.present(input.config.kms_key_id)
	msg := sprintf("%s: trail logs are not encrypted with a KMS key", [input.resource_name])
}
