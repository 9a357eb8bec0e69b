"""The comparison `make lint` makes between checkov's JSON report and the committed baseline
(tools/security_scan.py), on small synthetic reports: no checkov needed here."""

from __future__ import annotations

import pytest

from tests import template_data
from tools import security_scan as scan
from tools.security_scan import ScanError

MODES = ["committed", "http-port", "https-port"]


def check(mode: str, file: str, check_id: str, resource: str) -> dict:
    # The fields of a checkov result that the scan reads (checkov -o json, cloudformation).
    return {"check_id": check_id, "file_path": f"/{mode}/{file}", "resource": resource,
            "check_name": "synthetic", "file_line_range": [1, 2]}


def report(failed: list[dict], passed: list[dict] | None = None, parsing_errors: int = 0,
           modes=MODES) -> dict:
    if passed is None:  # every template scanned: one passed check on each
        passed = [check(mode, file, "CKV_AWS_1", "AWS::IAM::Role.Role")
                  for mode in modes for file in scan.TEMPLATES]
    return {"check_type": "cloudformation",
            "results": {"passed_checks": passed, "failed_checks": failed},
            "summary": {"passed": len(passed), "failed": len(failed),
                        "parsing_errors": parsing_errors}}


SG = "AWS::EC2::SecurityGroup.LoadBalancerSecurityGroup"
LOG_GROUP = "AWS::Logs::LogGroup.LogGroup"
BASELINE = '''
[[allow]]
checks = ["CKV_AWS_260"]
files = ["elb.yml"]
resources = ["LoadBalancerSecurityGroup"]
modes = ["committed", "http-port", "https-port"]
reason = ":80 is production (HTTP) or the redirect (HTTPS)"

[[allow]]
checks = ["CKV_AWS_158"]
files = ["blue.yml", "green.yml"]
resources = ["LogGroup"]
modes = ["http-port"]
reason = "no KMS key configured"
'''
EXPECTED = [check(mode, "elb.yml", "CKV_AWS_260", SG) for mode in MODES] + [
    check("http-port", color, "CKV_AWS_158", LOG_GROUP) for color in ("blue.yml", "green.yml")]


def problems(failed, baseline=BASELINE, **kwargs) -> list[str]:
    return scan.check_report(report(failed, **kwargs), scan.load_baseline(baseline, MODES), MODES)


def test_findings_that_are_all_in_the_baseline_pass():
    assert problems(EXPECTED) == []
    # A list of reports (checkov with several frameworks) reads the same.
    allowed = scan.load_baseline(BASELINE, MODES)
    assert scan.check_report([report(EXPECTED)], allowed, MODES) == []


def test_a_finding_outside_the_baseline_fails_naming_mode_file_check_and_resource():
    new = check("https-port", "blue.yml", "CKV_AWS_158", LOG_GROUP)
    (problem,) = problems([*EXPECTED, new])
    assert problem.startswith("https-port/blue.yml: CKV_AWS_158 fails on LogGroup (not in the "
                              "baseline")


def test_an_allowed_finding_in_another_mode_is_not_allowed_there():
    # Entries are scoped per mode: the http-port reason does not cover https-port.
    moved = [c for c in EXPECTED if c["check_id"] != "CKV_AWS_158"] + [
        check("https-port", color, "CKV_AWS_158", LOG_GROUP) for color in ("blue.yml",
                                                                           "green.yml")]
    found = problems(moved)
    assert sorted(found) == sorted([
        "https-port/blue.yml: CKV_AWS_158 fails on LogGroup (not in the baseline: fix it, or "
        "add it to tools/checkov-baseline.toml with its reason)",
        "https-port/green.yml: CKV_AWS_158 fails on LogGroup (not in the baseline: fix it, or "
        "add it to tools/checkov-baseline.toml with its reason)",
        "http-port/blue.yml: CKV_AWS_158 on LogGroup no longer fails (stale baseline entry: "
        "remove it from tools/checkov-baseline.toml)",
        "http-port/green.yml: CKV_AWS_158 on LogGroup no longer fails (stale baseline entry: "
        "remove it from tools/checkov-baseline.toml)"])


def test_a_baseline_entry_no_finding_matches_is_stale():
    fixed = [c for c in EXPECTED if c["file_path"] != "/https-port/elb.yml"]
    (problem,) = problems(fixed)
    assert problem == ("https-port/elb.yml: CKV_AWS_260 on LoadBalancerSecurityGroup no longer "
                       "fails (stale baseline entry: remove it from tools/checkov-baseline.toml)")


def test_unparsed_or_unscanned_templates_fail_rather_than_pass_as_clean():
    passed = [check("committed", file, "CKV_AWS_1", "AWS::IAM::Role.Role")
              for file in scan.TEMPLATES]
    found = problems(EXPECTED, passed=passed, parsing_errors=1)
    assert found[0] == "checkov could not parse 1 file(s)"
    # No passed check on http-port's and https-port's files, but a failed one on their elb.yml.
    assert "http-port/deploy-role.yml: not scanned" in found
    assert "https-port/elb.yml: not scanned" not in found


@pytest.mark.parametrize(("text", "says"), [
    (BASELINE.replace('reason = "no KMS key configured"', 'reason = " "'), "no reason"),
    (BASELINE.replace('reason = "no KMS key configured"', ""), "needs exactly"),
    (BASELINE.replace('modes = ["http-port"]', 'modes = ["http-prot"]'), "unknown modes"),
    (BASELINE.replace('"blue.yml", "green.yml"', '"blue.yaml"'), "unknown files"),
    (BASELINE.replace('modes = ["http-port"]', 'modes = "http-port"'), "must be a non-empty"),
    (BASELINE.replace('modes = ["http-port"]', "modes = []"), "must be a non-empty list"),
    (BASELINE + BASELINE.split("\n\n")[1], "is allowed twice"),
])
def test_a_baseline_that_cannot_be_trusted_is_refused(text, says):
    with pytest.raises(ScanError, match=says):
        scan.load_baseline(text, MODES)


def test_summary_lists_each_modes_failed_checks():
    assert scan.summary(report(EXPECTED)) == {
        "committed": ["CKV_AWS_260 elb.yml:LoadBalancerSecurityGroup"],
        "http-port": ["CKV_AWS_158 blue.yml:LogGroup",  # by file, then check
                      "CKV_AWS_260 elb.yml:LoadBalancerSecurityGroup",
                      "CKV_AWS_158 green.yml:LogGroup"],
        "https-port": ["CKV_AWS_260 elb.yml:LoadBalancerSecurityGroup"]}


def test_the_committed_baseline_is_valid_and_short():
    # Every reason given, every mode one of template_data.MODES (or the committed templates).
    # In HTTPS mode with access logs and a KMS key the only finding allowed is :80 open to the
    # world, because it only redirects to https (issue 16).
    modes = [scan.COMMITTED, *template_data.MODES]
    allowed = scan.load_baseline(scan.BASELINE.read_text(), modes)
    full = {key[1:] for key in allowed if key[0] == "https-port-logs-kms"}
    assert full == {("elb.yml", "CKV_AWS_260", "LoadBalancerSecurityGroup")}
    assert "redirect" in allowed[("https-port-logs-kms", *sorted(full)[0])]
    assert len(scan.BASELINE.read_text().split("[[allow]]")) - 1 <= 8
