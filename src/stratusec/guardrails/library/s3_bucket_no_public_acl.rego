# title: S3 bucket ACLs grant nothing to everyone
# severity: critical
# resource_types: [aws_s3_bucket, aws_s3_bucket_acl]
# description: >
#   No ACL grant to AllUsers or AuthenticatedUsers, and no public canned ACL
#   (public-read, public-read-write, authenticated-read).
package stratusec.guardrails.s3_bucket_no_public_acl

import data.stratusec.lib

public_groups := {
	"http://acs.amazonaws.com/groups/global/AllUsers": "everyone",
	"http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "any AWS user",
}

public_canned := {"public-read", "public-read-write", "authenticated-read"}

deny contains msg if {
	input.resource_type in {"aws_s3_bucket", "aws_s3_bucket_acl"}
	acl := input.config.acl
	is_string(acl)
	acl in public_canned
	msg := sprintf("%s: bucket uses the public canned ACL %s", [input.resource_name, acl])
}

deny contains msg if {
	input.resource_type == "aws_s3_bucket"
	some grant in lib.as_array(input.config.acl.grants)
	who := public_groups[grant.grantee_uri]
	msg := sprintf("%s: bucket ACL grants %s to %s", [input.resource_name, grant.permission, who])
}

deny contains msg if {
	input.resource_type == "aws_s3_bucket_acl"
	some grant in lib.as_array(lib.block(input.config.access_control_policy).grant)
	who := public_groups[lib.block(grant.grantee).uri]
	msg := sprintf("%s: bucket ACL grants %s to %s", [input.resource_name, grant.permission, who])
}
