# title: Console users have MFA
# severity: high
# resource_types: [aws_iam_user]
# description: >
#   Every IAM user with a console password has an MFA device (CIS AWS 1.10).
package stratusec.guardrails.iam_user_console_mfa

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_iam_user"
	input.config.password_enabled == true
	count(lib.as_array(input.config.mfa_devices)) == 0
	msg := sprintf("%s: user can sign in to the console without MFA", [input.resource_name])
}
