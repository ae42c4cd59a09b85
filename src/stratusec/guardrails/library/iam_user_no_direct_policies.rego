# title: IAM users get permissions through groups only
# severity: low
# resource_types: [aws_iam_user, aws_iam_user_policy, aws_iam_user_policy_attachment]
# description: >
#   No policy is attached to a user directly, managed or inline (CIS AWS 1.15):
#   permissions come from groups (or roles).
package stratusec.guardrails.iam_user_no_direct_policies

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_iam_user"
	n := count(lib.as_array(input.config.managed_policy_arns))
	n > 0
	msg := sprintf("%s: user has %d managed policies attached directly", [input.resource_name, n])
}

deny contains msg if {
	input.resource_type == "aws_iam_user"
	n := count(object.keys(input.config.inline_policies))
	n > 0
	msg := sprintf("%s: user has %d inline policies", [input.resource_name, n])
}

deny contains msg if {
	input.resource_type in {"aws_iam_user_policy", "aws_iam_user_policy_attachment"}
	msg := sprintf("%s: attaches a policy directly to user %s; attach it to a group", [input.resource_name, input.config.user])
}
