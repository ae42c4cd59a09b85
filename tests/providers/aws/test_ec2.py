from __future__ import annotations

from stratusec.inventory.models import Resource
from stratusec.providers.aws import ec2
from stratusec.providers.aws.base import CollectorContext
from tests.providers.aws.faults import fail_operation, stub_operation

ACCT = "123456789012"
REGION = "us-east-1"


def arn(kind: str, rid: str, region: str = REGION) -> str:
    return f"arn:aws:ec2:{region}:{ACCT}:{kind}/{rid}"


def run(ctx: CollectorContext) -> list[Resource]:
    return list(ec2.collect(ctx))


def by_uid(resources: list[Resource]) -> dict[str, Resource]:
    uids = [r.uid for r in resources]
    assert len(uids) == len(set(uids)), "duplicate uids"
    return {r.uid: r for r in resources}


def of_type(resources: list[Resource], type_: str) -> list[Resource]:
    return [r for r in resources if r.type == type_]


def test_public_and_private_subnets(aws, collector_ctx):
    c = aws("ec2", REGION)
    # VPC 1: explicit route tables, one with a default route to the IGW, one without.
    vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    igw = c.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    c.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    pub = c.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    priv = c.create_subnet(VpcId=vpc, CidrBlock="10.0.2.0/24")["Subnet"]["SubnetId"]
    unassoc = c.create_subnet(VpcId=vpc, CidrBlock="10.0.3.0/24")["Subnet"]["SubnetId"]
    rt_pub = c.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    c.create_route(RouteTableId=rt_pub, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    c.associate_route_table(RouteTableId=rt_pub, SubnetId=pub)
    eip = c.allocate_address(Domain="vpc")["AllocationId"]
    nat = c.create_nat_gateway(SubnetId=pub, AllocationId=eip)["NatGateway"]["NatGatewayId"]
    rt_priv = c.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    c.create_route(RouteTableId=rt_priv, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
    c.associate_route_table(RouteTableId=rt_priv, SubnetId=priv)
    # VPC 2: no explicit association; its main route table has an IPv6 default route to an IGW.
    vpc2 = c.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    igw2 = c.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    c.attach_internet_gateway(InternetGatewayId=igw2, VpcId=vpc2)
    main2 = c.describe_route_tables(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc2]},
            {"Name": "association.main", "Values": ["true"]},
        ]
    )["RouteTables"][0]["RouteTableId"]
    c.create_route(RouteTableId=main2, DestinationIpv6CidrBlock="::/0", GatewayId=igw2)
    via_main = c.create_subnet(
        VpcId=vpc2,
        CidrBlock="10.1.1.0/24",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "web"}]}],
    )["Subnet"]["SubnetId"]

    ctx = collector_ctx("ec2", REGION)
    res = run(ctx)
    assert ctx.errors.items == []
    r = by_uid(res)

    s_pub = r[arn("subnet", pub)]
    assert s_pub.type == "aws_subnet"
    assert s_pub.config["public"] is True
    assert s_pub.config["route_table_id"] == rt_pub
    assert s_pub.config["route_table_explicit"] is True
    assert s_pub.config["vpc_id"] == vpc
    assert s_pub.config["cidr_block"] == "10.0.1.0/24"
    assert s_pub.targets("IN_VPC") == [arn("vpc", vpc)]
    assert r[arn("subnet", priv)].config["public"] is False
    assert r[arn("subnet", priv)].config["route_table_id"] == rt_priv
    # No explicit association: the VPC's main route table (no IGW route) applies.
    assert r[arn("subnet", unassoc)].config["public"] is False
    assert r[arn("subnet", unassoc)].config["route_table_explicit"] is False
    s_main = r[arn("subnet", via_main)]
    assert s_main.config["public"] is True
    assert s_main.config["route_table_id"] == main2
    assert s_main.name == "web"

    t_pub = r[arn("route-table", rt_pub)]
    assert t_pub.type == "aws_route_table"
    assert t_pub.config["main"] is False
    assert t_pub.targets("ASSOCIATED_WITH") == [arn("subnet", pub)]
    assert t_pub.targets("IN_VPC") == [arn("vpc", vpc)]
    routes_to = [(x.target, x.properties) for x in t_pub.relationships if x.type == "ROUTES_TO"]
    assert routes_to == [(arn("internet-gateway", igw), {"destination": "0.0.0.0/0"})]
    igw_route = next(x for x in t_pub.config["route"] if x["gateway_id"] == igw)
    assert igw_route["destination"] == "0.0.0.0/0" and igw_route["target"] == igw
    t_priv = r[arn("route-table", rt_priv)]
    assert t_priv.targets("ROUTES_TO") == [arn("natgateway", nat)]
    assert r[arn("route-table", main2)].config["main"] is True

    g = r[arn("internet-gateway", igw)]
    assert g.type == "aws_internet_gateway"
    assert g.targets("ATTACHED_TO") == [arn("vpc", vpc)]
    n = r[arn("natgateway", nat)]
    assert n.type == "aws_nat_gateway"
    assert n.targets("IN_SUBNET") == [arn("subnet", pub)]
    assert n.config["subnet_id"] == pub and n.config["public_ip"]
    e = r[arn("elastic-ip", eip)]
    assert e.type == "aws_eip" and e.config["public_ip"] == n.config["public_ip"]

    v = r[arn("vpc", vpc)]
    assert v.type == "aws_vpc"
    assert v.config["cidr_block"] == "10.0.0.0/16"
    assert v.config["is_default"] is False
    assert v.config["flow_logs"] == [] and v.config["flow_logs_enabled"] is False
    default_vpcs = [x for x in of_type(res, "aws_vpc") if x.config["is_default"]]
    assert len(default_vpcs) == 1


def test_vpc_flow_logs(aws, collector_ctx):
    aws("s3", REGION).create_bucket(Bucket="flow-bucket")
    c = aws("ec2", REGION)
    vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    fl = c.create_flow_logs(
        ResourceIds=[vpc],
        ResourceType="VPC",
        TrafficType="REJECT",
        LogDestinationType="s3",
        LogDestination="arn:aws:s3:::flow-bucket",
    )["FlowLogIds"][0]
    ctx = collector_ctx("ec2", REGION)
    r = by_uid(run(ctx))
    assert ctx.errors.items == []
    v = r[arn("vpc", vpc)]
    assert v.config["flow_logs_enabled"] is True
    assert v.config["flow_logs"][0]["id"] == fl
    assert v.config["flow_logs"][0]["traffic_type"] == "REJECT"
    assert v.config["flow_logs"][0]["destination"] == "arn:aws:s3:::flow-bucket"
    f = r[arn("vpc-flow-log", fl)]
    assert f.type == "aws_flow_log"
    assert f.config["vpc_id"] == vpc
    assert f.config["log_destination_type"] == "s3"
    assert f.targets("LOGS_TO") == ["arn:aws:s3:::flow-bucket"]


def test_flow_log_listing_failure_is_unknown(aws, collector_ctx):
    vpc = aws("ec2", REGION).create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ctx = collector_ctx("ec2", REGION)
    fail_operation(ctx, "DescribeFlowLogs", "UnauthorizedOperation")
    v = by_uid(run(ctx))[arn("vpc", vpc)]
    assert v.config["flow_logs"] is None and v.config["flow_logs_enabled"] is None
    assert "flow_logs_enabled" in v.unavailable
    assert [(e.api, e.code) for e in ctx.errors.items] == [
        ("describe_flow_logs", "UnauthorizedOperation")
    ]


def test_route_table_failure_makes_subnet_exposure_unknown(aws, collector_ctx):
    c = aws("ec2", REGION)
    vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sub = c.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    ctx = collector_ctx("ec2", REGION)
    fail_operation(ctx, "DescribeRouteTables", "UnauthorizedOperation")
    res = run(ctx)
    s = by_uid(res)[arn("subnet", sub)]
    assert s.config["public"] is None and "public" in s.unavailable
    assert of_type(res, "aws_route_table") == []
    assert [e.api for e in ctx.errors.items] == ["describe_route_tables"]


def test_security_group_rules_normalized(aws, collector_ctx):
    c = aws("ec2", REGION)
    vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    lb = c.create_security_group(GroupName="lb", Description="lb", VpcId=vpc)["GroupId"]
    sg = c.create_security_group(
        GroupName="ssh-open",
        Description="ssh from anywhere",
        VpcId=vpc,
        TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "env", "Value": "prod"}]}
        ],
    )["GroupId"]
    c.authorize_security_group_ingress(
        GroupId=sg,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "admin"}],
            },
            {"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            {
                "IpProtocol": "tcp",
                "FromPort": 443,
                "ToPort": 443,
                "UserIdGroupPairs": [{"GroupId": lb}],
            },
        ],
    )
    ctx = collector_ctx("ec2", REGION)
    res = run(ctx)
    assert ctx.errors.items == []
    g = by_uid(res)[arn("security-group", sg)]
    assert g.type == "aws_security_group"
    assert g.name == "ssh-open"
    assert g.tags == {"env": "prod"}
    assert g.config["vpc_id"] == vpc
    assert g.config["description"] == "ssh from anywhere"
    assert g.targets("IN_VPC") == [arn("vpc", vpc)]
    ingress = g.config["ingress"]
    ssh = next(x for x in ingress if x["from_port"] == 22)
    assert ssh == {
        "protocol": "tcp",
        "from_port": 22,
        "to_port": 22,
        "cidr_blocks": ["0.0.0.0/0"],
        "ipv6_cidr_blocks": [],
        "security_groups": [],
        "self": False,
        "prefix_list_ids": [],
        "description": "admin",
    }
    everything = next(x for x in ingress if x["protocol"] == "-1")
    assert everything["ipv6_cidr_blocks"] == ["::/0"]
    assert (everything["from_port"], everything["to_port"]) == (0, 65535)
    https = next(x for x in ingress if x["from_port"] == 443)
    assert https["security_groups"] == [lb] and https["cidr_blocks"] == []
    assert g.config["egress"] == [
        {
            "protocol": "-1",
            "from_port": 0,
            "to_port": 65535,
            "cidr_blocks": ["0.0.0.0/0"],
            "ipv6_cidr_blocks": [],
            "security_groups": [],
            "self": False,
            "prefix_list_ids": [],
            "description": None,
        }
    ]
    # The raw API shape is kept for remediation.
    raw_ssh = next(p for p in g.config["ip_permissions"] if p.get("FromPort") == 22)
    assert raw_ssh["IpRanges"][0]["CidrIp"] == "0.0.0.0/0"
    rules = g.config["security_group_rules"]
    assert any(
        x["cidr_ipv4"] == "0.0.0.0/0" and x["from_port"] == 22 and not x["is_egress"] for x in rules
    )
    assert all(x["security_group_rule_id"].startswith("sgr-") for x in rules)


def test_network_acl_entries_and_subnets(aws, collector_ctx):
    c = aws("ec2", REGION)
    vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sub = c.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    acl = c.create_network_acl(VpcId=vpc)["NetworkAcl"]["NetworkAclId"]
    c.create_network_acl_entry(
        NetworkAclId=acl,
        RuleNumber=100,
        Protocol="6",
        RuleAction="allow",
        Egress=False,
        CidrBlock="0.0.0.0/0",
        PortRange={"From": 3389, "To": 3389},
    )
    assoc = c.describe_network_acls(Filters=[{"Name": "association.subnet-id", "Values": [sub]}])[
        "NetworkAcls"
    ][0]["Associations"]
    assoc_id = next(a["NetworkAclAssociationId"] for a in assoc if a["SubnetId"] == sub)
    c.replace_network_acl_association(AssociationId=assoc_id, NetworkAclId=acl)
    ctx = collector_ctx("ec2", REGION)
    a = by_uid(run(ctx))[arn("network-acl", acl)]
    assert a.type == "aws_network_acl"
    assert a.config["default"] is False
    assert a.targets("ATTACHED_TO") == [arn("subnet", sub)]
    assert a.targets("IN_VPC") == [arn("vpc", vpc)]
    rdp = next(e for e in a.config["ingress"] if e["rule_number"] == 100)
    assert rdp["protocol"] == "tcp" and rdp["rule_action"] == "allow"
    assert (rdp["from_port"], rdp["to_port"]) == (3389, 3389)
    assert rdp["cidr_block"] == "0.0.0.0/0" and rdp["egress"] is False
    assert rdp in a.config["entries"]


def test_instance_with_profile_imds_and_security_groups(aws, collector_ctx):
    iam = aws("iam", REGION)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument="{}")
    profile_arn = iam.create_instance_profile(InstanceProfileName="app-profile")["InstanceProfile"][
        "Arn"
    ]
    iam.add_role_to_instance_profile(InstanceProfileName="app-profile", RoleName="app")
    c = aws("ec2", REGION)
    vpc = c.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    sub = c.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    sg = c.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    image = c.describe_images()["Images"][0]["ImageId"]
    inst = c.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        SubnetId=sub,
        SecurityGroupIds=[sg],
        IamInstanceProfile={"Arn": profile_arn},
        MetadataOptions={
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 2,
        },
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "app-1"}]}
        ],
    )["Instances"][0]
    iid = inst["InstanceId"]
    unnamed = c.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=sub)["Instances"][0]

    ctx = collector_ctx("ec2", REGION)
    res = run(ctx)
    assert ctx.errors.items == []
    r = by_uid(res)
    i = r[arn("instance", iid)]
    assert i.type == "aws_instance"
    assert i.name == "app-1" and i.tags == {"Name": "app-1"}
    assert r[arn("instance", unnamed["InstanceId"])].name == unnamed["InstanceId"]
    cfg = i.config
    assert cfg["instance_id"] == iid and cfg["instance_type"] == "t3.micro"
    assert cfg["ami"] == image and cfg["state"] == "running"
    assert cfg["subnet_id"] == sub and cfg["vpc_id"] == vpc
    assert cfg["private_ip"]
    assert cfg["iam_instance_profile"] == profile_arn
    assert cfg["metadata_options"]["http_tokens"] == "required"
    assert cfg["metadata_options"]["http_endpoint"] == "enabled"
    assert cfg["metadata_options"]["http_put_response_hop_limit"] == 2
    assert cfg["vpc_security_group_ids"] == [sg]
    assert cfg["launch_time"].endswith("+00:00")
    assert isinstance(cfg["monitoring"], bool) and isinstance(cfg["ebs_optimized"], bool)
    assert cfg["root_block_device"] and cfg["root_block_device"][0]["volume_id"].startswith("vol-")
    assert i.targets("IN_SUBNET") == [arn("subnet", sub)]
    assert i.targets("IN_VPC") == [arn("vpc", vpc)]
    assert i.targets("HAS_SECURITY_GROUP") == [arn("security-group", sg)]
    assert i.targets("HAS_INSTANCE_PROFILE") == [profile_arn]

    enis = [e for e in of_type(res, "aws_network_interface") if e.config["attachment"]]
    eni = next(e for e in enis if e.config["attachment"]["instance"] == iid)
    assert eni.targets("ATTACHED_TO") == [arn("instance", iid)]
    assert eni.targets("IN_SUBNET") == [arn("subnet", sub)]
    assert eni.targets("HAS_SECURITY_GROUP") == [arn("security-group", sg)]
    assert eni.config["private_ip"] == cfg["private_ip"]


def test_unencrypted_volume_attached_and_encrypted_with_key(aws, collector_ctx):
    key_arn = aws("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    c = aws("ec2", REGION)
    image = c.describe_images()["Images"][0]["ImageId"]
    inst = c.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]
    iid, az = inst["InstanceId"], inst["Placement"]["AvailabilityZone"]
    plain = c.create_volume(AvailabilityZone=az, Size=10, VolumeType="gp3")["VolumeId"]
    c.attach_volume(VolumeId=plain, InstanceId=iid, Device="/dev/sdf")
    enc = c.create_volume(
        AvailabilityZone=az,
        Size=5,
        Encrypted=True,
        KmsKeyId=key_arn,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": "data"}]}],
    )["VolumeId"]
    ctx = collector_ctx("ec2", REGION)
    r = by_uid(run(ctx))
    assert ctx.errors.items == []
    v = r[arn("volume", plain)]
    assert v.type == "aws_ebs_volume"
    assert v.config["encrypted"] is False and v.config["kms_key_id"] is None
    assert v.config["size"] == 10 and v.config["type"] == "gp3"
    assert v.config["availability_zone"] == az
    assert v.config["attachments"][0]["instance_id"] == iid
    assert v.config["attachments"][0]["device_name"] == "/dev/sdf"
    assert v.targets("ATTACHED_TO") == [arn("instance", iid)]
    assert v.targets("USES_KEY") == []
    e = r[arn("volume", enc)]
    assert e.name == "data"
    assert e.config["encrypted"] is True and e.config["kms_key_id"] == key_arn
    assert e.targets("USES_KEY") == [key_arn]
    assert e.targets("ATTACHED_TO") == []


def test_public_snapshot_via_create_volume_permission(aws, collector_ctx):
    c = aws("ec2", REGION)
    vol = c.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    public = c.create_snapshot(VolumeId=vol, Description="public")["SnapshotId"]
    shared = c.create_snapshot(VolumeId=vol, Description="shared")["SnapshotId"]
    private = c.create_snapshot(VolumeId=vol, Description="private")["SnapshotId"]
    c.modify_snapshot_attribute(
        SnapshotId=public,
        Attribute="createVolumePermission",
        OperationType="add",
        GroupNames=["all"],
    )
    c.modify_snapshot_attribute(
        SnapshotId=shared,
        Attribute="createVolumePermission",
        OperationType="add",
        UserIds=["111122223333"],
    )
    ctx = collector_ctx("ec2", REGION)
    res = run(ctx)
    assert ctx.errors.items == []
    r = by_uid(res)
    p = r[arn("snapshot", public)]
    assert p.type == "aws_ebs_snapshot"
    assert p.config["public"] is True
    assert p.config["create_volume_permissions"] == [{"group": "all", "user_id": None}]
    assert p.config["volume_id"] == vol and p.config["encrypted"] is False
    assert p.targets("SNAPSHOT_OF") == [arn("volume", vol)]
    s = r[arn("snapshot", shared)]
    assert s.config["public"] is False
    assert s.config["shared_with_accounts"] == ["111122223333"]
    q = r[arn("snapshot", private)]
    assert q.config["public"] is False and q.config["create_volume_permissions"] == []
    # Only our own snapshots, not the public ones moto ships for its AMIs.
    assert {x.config["owner_id"] for x in of_type(res, "aws_ebs_snapshot")} == {ACCT}


def test_snapshot_attribute_failure_is_unknown(aws, collector_ctx):
    c = aws("ec2", REGION)
    vol = c.create_volume(AvailabilityZone="us-east-1a", Size=1)["VolumeId"]
    snap = c.create_snapshot(VolumeId=vol)["SnapshotId"]
    ctx = collector_ctx("ec2", REGION)
    fail_operation(ctx, "DescribeSnapshotAttribute")
    s = by_uid(run(ctx))[arn("snapshot", snap)]
    assert s.config["public"] is None and s.config["create_volume_permissions"] is None
    assert "public" in s.unavailable
    assert [(e.api, e.resource) for e in ctx.errors.items] == [
        ("describe_snapshot_attribute", snap)
    ]


def test_ebs_encryption_by_default_on(aws, collector_ctx):
    key_arn = aws("kms", REGION).create_key()["KeyMetadata"]["Arn"]
    aws("ec2", REGION).enable_ebs_encryption_by_default()
    ctx = collector_ctx("ec2", REGION)
    # moto has no ModifyEbsDefaultKmsKeyId: answer the read as AWS would after it.
    stub_operation(ctx, "GetEbsDefaultKmsKeyId", {"KmsKeyId": key_arn})
    r = by_uid(run(ctx))
    assert ctx.errors.items == []
    d = r[f"arn:aws:ec2:{REGION}:{ACCT}:ebs-encryption-by-default"]
    assert d.type == "aws_ebs_encryption_by_default"
    assert d.config["enabled"] is True
    assert d.config["default_kms_key_id"] == key_arn
    assert d.targets("USES_KEY") == [key_arn]
    assert d.unavailable == []


def test_ebs_encryption_by_default_off_and_key_unreadable(collector_ctx):
    # A denied GetEbsDefaultKmsKeyId: the key is unknown (and the failure recorded),
    # while the enabled flag is still read.
    ctx = collector_ctx("ec2", "eu-west-1")
    fail_operation(ctx, "GetEbsDefaultKmsKeyId", "UnauthorizedOperation")
    d = next(r for r in run(ctx) if r.type == "aws_ebs_encryption_by_default")
    assert d.uid == f"arn:aws:ec2:eu-west-1:{ACCT}:ebs-encryption-by-default"
    assert d.config["enabled"] is False
    assert d.config["default_kms_key_id"] is None
    assert d.unavailable == ["default_kms_key_id"]
    assert [e.api for e in ctx.errors.items] == ["get_ebs_default_kms_key_id"]


def test_empty_region_only_defaults(collector_ctx):
    ctx = collector_ctx("ec2", "eu-west-1")
    res = run(ctx)
    assert ctx.errors.items == []
    types = {r.type for r in res}
    assert types == {
        "aws_vpc",
        "aws_subnet",
        "aws_route_table",
        "aws_security_group",
        "aws_network_acl",
        "aws_ebs_encryption_by_default",
    }
    assert all(r.region == "eu-west-1" and r.account == ACCT for r in res)
    assert all(r.uid.startswith(f"arn:aws:ec2:eu-west-1:{ACCT}:") for r in res)
    by_uid(res)
    (vpc,) = of_type(res, "aws_vpc")
    assert vpc.config["is_default"] is True and vpc.config["flow_logs_enabled"] is False
    # The default VPC has no internet gateway in moto, so its subnets are not public.
    assert {s.config["public"] for s in of_type(res, "aws_subnet")} == {False}
    (sg,) = of_type(res, "aws_security_group")
    assert sg.config["is_default"] is True and sg.config["ingress"] == []
    d = next(r for r in res if r.type == "aws_ebs_encryption_by_default")
    assert d.config == {"enabled": False, "default_kms_key_id": "alias/aws/ebs", "sse_type": None}
    assert d.targets("USES_KEY") == [f"arn:aws:kms:eu-west-1:{ACCT}:alias/aws/ebs"]
