# title: The account password policy is strong
# severity: medium
# resource_types: [aws_iam_account_password_policy]
# description: >
#   A password policy exists, requires at least 14 characters (CIS AWS 1.8) and
#   prevents reuse of the last 24 passwords (CIS AWS 1.9).
package stratusec.guardrails.iam_password_policy_strength

min_length := 14

min_reuse := 24

deny contains msg if {
	input.resource_type == "aws_iam_account_password_policy"
	input.config.exists == false
	msg := sprintf("%s: the account has no password policy", [input.resource_name])
}

deny contains msg if {
	exists
	n := input.config.minimum_password_length
	is_number(n)
	n < min_length
	msg := sprintf("%s: minimum password length is %d (at least %d required)", [input.resource_name, n, min_length])
}

deny contains msg if {
	exists
	not is_number(input.config.minimum_password_length)
	msg := sprintf("%s: no minimum password length is set (at least %d required)", [input.resource_name, min_length])
}

deny contains msg if {
	exists
	n := input.config.password_reuse_prevention
	is_number(n)
	n < min_reuse
	msg := sprintf("%s: password reuse prevention remembers %d passwords (at least %d required)", [input.resource_name, n, min_reuse])
}

deny contains msg if {
	exists
	not is_number(input.config.password_reuse_prevention)
	msg := sprintf("%s: password reuse prevention is off (at least %d required)", [input.resource_name, min_reuse])
}

exists if {
	input.resource_type == "aws_iam_account_password_policy"
	not input.config.exists == false
}
