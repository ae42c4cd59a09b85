# title: IAM policies do not grant full administrator access
# severity: high
# resource_types: [aws_iam_policy, aws_iam_role_policy, aws_iam_user_policy, aws_iam_group_policy]
# description: >
#   No customer policy allows Action "*" on Resource "*" (CIS AWS 1.16). AWS managed
#   policies (such as AdministratorAccess itself) are not judged.
package stratusec.guardrails.iam_policy_no_admin

import data.stratusec.lib

deny contains msg if {
	input.resource_type in {"aws_iam_policy", "aws_iam_role_policy", "aws_iam_user_policy", "aws_iam_group_policy"}
	not input.config.aws_managed == true
	some s in lib.statements(lib.document(input.config.policy))
	lib.admin_statement(s)
	msg := sprintf("%s: policy allows every action on every resource (statement %s)", [input.resource_name, lib.sid(s)])
}
