# title: Customer managed KMS keys rotate
# severity: medium
# resource_types: [aws_kms_key]
# description: >
#   Symmetric customer managed keys have automatic rotation on (CIS AWS 3.6). AWS
#   managed keys rotate on their own; asymmetric and HMAC keys cannot.
package stratusec.guardrails.kms_key_rotation

import data.stratusec.lib

symmetric if not lib.present(input.config.customer_master_key_spec)

symmetric if input.config.customer_master_key_spec == "SYMMETRIC_DEFAULT"

deny contains msg if {
	input.resource_type == "aws_kms_key"
	not input.config.key_manager == "AWS"
	not input.config.key_state in {"PendingDeletion", "PendingReplicaDeletion"}
	symmetric
	not input.config.enable_key_rotation == true
	msg := sprintf("%s: key rotation is off", [input.resource_name])
}
