# title: Cross-account role trust requires an external ID
# severity: high
# resource_types: [aws_iam_role]
# description: >
#   A trust policy that lets another AWS account assume the role requires
#   sts:ExternalId (or limits the caller with aws:PrincipalOrgID). The role's own
#   account comes from its ARN, so a plan (where the ARN is not known yet) is not
#   judged.
package stratusec.guardrails.iam_role_trust_cross_account_external_id

import data.stratusec.lib

guard_keys := {"sts:externalid", "aws:principalorgid", "aws:principalorgpaths"}

account_of(arn) := parts[4] if {
	parts := split(arn, ":")
	count(parts) > 5
}

principal_account(p) := p if regex.match(`^[0-9]{12}$`, p)

principal_account(p) := account_of(p) if startswith(p, "arn:")

guarded(s) if {
	some _, condition in s.Condition
	some key in object.keys(condition)
	lower(key) in guard_keys
}

deny contains msg if {
	input.resource_type == "aws_iam_role"
	own := account_of(input.config.arn)
	some s in lib.statements(lib.document(input.config.assume_role_policy))
	s.Effect == "Allow"
	is_object(s.Principal)
	some p in lib.as_array(s.Principal.AWS)
	other := principal_account(p)
	other != own
	not guarded(s)
	msg := sprintf("%s: account %s may assume the role without an external ID", [input.resource_name, other])
}
