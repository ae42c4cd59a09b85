# title: IAM roles do not hold full administrator access
# severity: high
# resource_types: [aws_iam_role, aws_iam_role_policy_attachment]
# description: >
#   No role has AdministratorAccess attached, or an inline policy allowing "*" on "*".
#   Break-glass roles that need it are exceptions to record, not the rule.
package stratusec.guardrails.iam_role_no_admin_access

import data.stratusec.lib

admin_arn(arn) if {
	is_string(arn)
	regex.match(`^arn:aws[a-z-]*:iam::aws:policy/AdministratorAccess$`, arn)
}

deny contains msg if {
	input.resource_type == "aws_iam_role"
	some arn in lib.as_array(input.config.managed_policy_arns)
	admin_arn(arn)
	msg := sprintf("%s: role has AdministratorAccess attached", [input.resource_name])
}

# Collected roles: inline_policies = {name: document}
deny contains msg if {
	input.resource_type == "aws_iam_role"
	some name, doc in input.config.inline_policies
	some s in lib.statements(lib.document(doc))
	lib.admin_statement(s)
	msg := sprintf("%s: inline policy %s allows every action on every resource", [input.resource_name, name])
}

# Planned roles: inline_policy = [{name, policy (JSON)}]
deny contains msg if {
	input.resource_type == "aws_iam_role"
	some inline in lib.as_array(input.config.inline_policy)
	some s in lib.statements(lib.document(inline.policy))
	lib.admin_statement(s)
	msg := sprintf("%s: inline policy %s allows every action on every resource", [input.resource_name, inline.name])
}

deny contains msg if {
	input.resource_type == "aws_iam_role_policy_attachment"
	admin_arn(input.config.policy_arn)
	msg := sprintf("%s: attaches AdministratorAccess to role %s", [input.resource_name, input.config.role])
}
