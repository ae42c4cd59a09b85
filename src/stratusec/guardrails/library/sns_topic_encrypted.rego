# title: SNS topics are encrypted
# severity: low
# resource_types: [aws_sns_topic]
# description: >
#   The topic encrypts messages at rest with a KMS key (kms_master_key_id).
package stratusec.guardrails.sns_topic_encrypted

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_sns_topic"
	not lib.present(input.config.kms_master_key_id)
	msg := sprintf("%s: topic is not encrypted with a KMS key", [input.resource_name])
}
