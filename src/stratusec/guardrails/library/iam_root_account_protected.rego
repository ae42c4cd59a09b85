# title: The root user has MFA and no access keys
# severity: critical
# resource_types: [aws_iam_account_summary]
# description: >
#   The account's root user has MFA on (CIS AWS 1.5) and no access keys (CIS AWS 1.4).
package stratusec.guardrails.iam_root_account_protected

deny contains msg if {
	input.resource_type == "aws_iam_account_summary"
	input.config.account_access_keys_present == true
	msg := sprintf("%s: the root user has access keys", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_iam_account_summary"
	input.config.account_mfa_enabled == false
	msg := sprintf("%s: the root user has no MFA", [input.resource_name])
}
