from stratusec.checks import Status
from tests.checks.fixtures import inventory, res, run

SUBNET = "arn:aws:ec2:us-east-1:123456789012:subnet/subnet-1"


def svc(name, net, unavailable=None):
    return res(
        "aws_ecs_service",
        name,
        config={"network_configuration": net},
        relationships=[("IN_SUBNET", SUBNET)],
        unavailable=unavailable,
    )


def test_ecs_service_no_public_ip():
    subnet = res("aws_subnet", "public-a", uid=SUBNET, config={"public": True})
    inv = inventory(
        subnet,
        svc("exposed", {"subnets": ["subnet-1"], "assign_public_ip": True}),
        svc("private", {"subnets": ["subnet-1"], "assign_public_ip": False}),
        svc("bridge", None),
        svc("unread", None, unavailable=["network_configuration"]),
    )
    out = run("ecs_service_no_public_ip", inv)
    assert out["exposed"][0] == Status.FAIL and "public subnet(s) public-a" in out["exposed"][1]
    assert out["private"][0] == Status.PASS
    assert "bridge" not in out
    assert out["unread"][0] == Status.UNKNOWN
