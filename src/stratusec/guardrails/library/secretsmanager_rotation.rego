# title: Secrets rotate automatically
# severity: medium
# resource_types: [aws_secretsmanager_secret]
# description: >
#   Automatic rotation is on for collected secrets (a plan declares rotation as a
#   separate aws_secretsmanager_secret_rotation resource and is not judged).
package stratusec.guardrails.secretsmanager_rotation

deny contains msg if {
	input.resource_type == "aws_secretsmanager_secret"
	input.config.rotation_enabled == false
	msg := sprintf("%s: secret rotation is off", [input.resource_name])
}
