# title: Role trust policies do not trust everyone
# severity: critical
# resource_types: [aws_iam_role]
# description: >
#   No trust policy statement allows Principal "*" (or AWS "*") without a condition:
#   anyone with an AWS account could assume the role.
package stratusec.guardrails.iam_role_trust_no_public_principal

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_iam_role"
	some s in lib.statements(lib.document(input.config.assume_role_policy))
	lib.public_allow(s)
	msg := sprintf("%s: trust policy lets any AWS principal assume the role", [input.resource_name])
}
