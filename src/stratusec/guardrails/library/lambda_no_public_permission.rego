# title: Lambda functions cannot be invoked by everyone
# severity: critical
# resource_types: [aws_lambda_function, aws_lambda_permission]
# description: >
#   No resource policy statement (or aws_lambda_permission) grants Principal "*"
#   without a source ARN, source account or other condition.
package stratusec.guardrails.lambda_no_public_permission

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_lambda_function"
	some s in lib.statements(lib.document(input.config.policy))
	lib.public_allow(s)
	msg := sprintf("%s: resource policy statement %s lets anyone call %v", [input.resource_name, lib.sid(s), s.Action])
}

deny contains msg if {
	input.resource_type == "aws_lambda_permission"
	input.config.principal == "*"
	not lib.present(input.config.source_arn)
	not lib.present(input.config.source_account)
	not lib.present(input.config.principal_org_id)
	msg := sprintf("%s: grants %s on %s to everyone", [input.resource_name, input.config.action, input.config.function_name])
}
