# title: EFS file systems are encrypted
# severity: high
# resource_types: [aws_efs_file_system]
# description: >
#   encrypted is true (it can only be chosen when the file system is created).
package stratusec.guardrails.efs_encrypted

deny contains msg if {
	input.resource_type == "aws_efs_file_system"
	not input.config.encrypted == true
	msg := sprintf("%s: file system is not encrypted at rest", [input.resource_name])
}
