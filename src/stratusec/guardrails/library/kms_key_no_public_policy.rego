# title: KMS key policies do not allow everyone
# severity: critical
# resource_types: [aws_kms_key]
# description: >
#   No key policy statement allows Principal "*" without a condition.
package stratusec.guardrails.kms_key_no_public_policy

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_kms_key"
	some s in lib.statements(lib.document(input.config.policy))
	lib.public_allow(s)
	msg := sprintf("%s: key policy statement %s allows everyone", [input.resource_name, lib.sid(s)])
}
