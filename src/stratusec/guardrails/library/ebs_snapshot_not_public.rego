# title: EBS snapshots are not public
# severity: critical
# resource_types: [aws_ebs_snapshot]
# description: >
#   No EBS snapshot grants createVolumePermission to the group "all".
package stratusec.guardrails.ebs_snapshot_not_public

deny contains msg if {
	input.resource_type == "aws_ebs_snapshot"
	input.config.public == true
	msg := sprintf("%s: snapshot is public (anyone can create a volume from it)", [input.resource_name])
}
