from stratusec.providers.aws import guardduty


def test_detector_and_region_settings(aws, collector_ctx):
    aws("guardduty", "us-east-1").create_detector(Enable=True, Tags={"team": "sec"})
    resources = list(guardduty.collect(collector_ctx("guardduty", "us-east-1")))
    detectors = [r for r in resources if r.type == "aws_guardduty_detector"]
    assert len(detectors) == 1
    assert detectors[0].config["enable"] is True
    assert detectors[0].tags == {"team": "sec"}
    region = next(r for r in resources if r.type == "aws_guardduty_region")
    assert region.config["enabled"] is True
    assert region.unavailable == []


def test_region_without_detector_is_disabled(collector_ctx):
    ctx = collector_ctx("guardduty", "eu-west-1")
    resources = list(guardduty.collect(ctx))
    assert [r.type for r in resources] == ["aws_guardduty_region"]
    assert resources[0].config["enabled"] is False
    assert resources[0].region == "eu-west-1"
    assert ctx.errors.items == []
