# title: Production RDS must be encrypted and multi-AZ
# severity: high
# resource_types: [aws_db_instance]
# description: >
#   A database instance tagged environment=production encrypts its storage and runs
#   in more than one availability zone.
package stratusec.guardrails.rds_production_encrypted_multi_az

import data.stratusec.lib

deny contains msg if {
	input.resource_type == "aws_db_instance"
	lib.production(input.tags)
	not input.config.storage_encrypted == true
	msg := sprintf("%s: production database is not encrypted at rest (storage_encrypted is not true)", [input.resource_name])
}

deny contains msg if {
	input.resource_type == "aws_db_instance"
	lib.production(input.tags)
	not input.config.multi_az == true
	msg := sprintf("%s: production database is not multi-AZ (multi_az is not true)", [input.resource_name])
}
