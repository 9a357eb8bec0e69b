"""`stackswap diff`, `--output json` and `--report DIR` against the local sandbox (moto server +
data plane, real HTTP), through the real CLI."""

from __future__ import annotations

import json
import os
import subprocess

import jsonschema
import yaml
from stackswap.sandbox.environment import client

from tests.browser import open_page
from tests.conftest import REPO
from tests.harness import MUTATING, Env
from tests.test_e2e_sandbox import empty_account, prod, run
from tests.test_e2e_sandbox import sandbox as sandbox
from tests.test_e2e_sandbox import shop as shop

SCHEMA = json.loads((REPO / "docs" / "events.schema.json").read_text())


def change_sets(env: Env) -> list[dict]:
    cfn = client("cloudformation", env.endpoint, env.region)
    return [summary for stack in ("demo-elb", "demo-blue", "demo-green")
            for summary in cfn.list_change_sets(StackName=stack)["Summaries"]]


def test_diff_shows_change_sets_traffic_and_images_and_changes_nothing(shop, sandbox, capsys):
    # "Change sets allow you to preview how proposed changes to a stack might impact your
    # running resources ... CloudFormation doesn't make any changes to your stack until you
    # execute the change set" (CloudFormation User Guide, "Update CloudFormation stacks using
    # change sets"); a TaskDefinition is replaced when its ContainerDefinitions change
    # ("Update requires: Replacement", AWS::ECS::TaskDefinition ContainerDefinitions).
    expected = [
        "1. update the green service stack: image app:v1 -> app:v2, 2 tasks",
        "2. verify green: service steady on app:v2, 2 targets healthy, smoke request answers "
        "2xx",
        "3. swap: production :80 blue -> green, test :8080 green -> blue",
        "4. confirm production :80 -> green and production answers 2xx",
        # the sandbox's config: 120 s stack timeout, 6 s to verify, 3 smoke tries
        "this plan takes at most 8 min 42 s: 2 stack operations × 2 min, verification 24 s, "
        "production check 18 s, way back 4 min",
        "CloudFormation would change (change sets created, described, deleted):",
        "  demo-green (update):",
        "    modify TaskDefinition (AWS::ECS::TaskDefinition), REPLACED: ContainerDefinitions",
        # the service refers to the replaced task definition: modified in place (gap 1's diff
        # applies resources in dependency order, as CloudFormation does)
        "    modify Service (AWS::ECS::Service), in place: TaskDefinition",
        "  demo-elb (the swap's update):",
        "    modify ProductionListener (AWS::ElasticLoadBalancingV2::Listener), in place: "
        "DefaultActions",
        "    modify TestListener (AWS::ElasticLoadBalancingV2::Listener), in place: "
        "DefaultActions",
        "traffic:",
        "  production :80: blue -> green",
        "  test :8080: green -> blue",
        "images:",
        "  blue: app:v1 -> app:v1 (unchanged)",
        "  green: app:v1 -> app:v2",
    ]
    result = run(shop, "diff", "--image", "app:v2", capsys=capsys)
    assert result.code == 0, result
    assert result.out.splitlines() == expected
    # deploy --dry-run says the same, under its header
    dry = run(shop, "deploy", "--image", "app:v2", "--dry-run", capsys=capsys)
    assert dry.code == 0, dry
    assert dry.out.splitlines() == ["dry run, nothing changed:", *expected]
    # change sets were made and deleted, never executed; nothing else changed
    assert shop.aws.calls.count("CreateChangeSet") == 4
    assert shop.aws.calls.count("DeleteChangeSet") == 4
    assert [call for call in shop.aws.calls if call in MUTATING] == []
    assert change_sets(shop) == []
    assert prod(sandbox) == "hello from app:v1"
    # with the ALB stack's listeners as they were: a diff of the same image is "nothing to do"
    same = run(shop, "diff", "--image", "app:v1", capsys=capsys)
    assert same.code == 0, same
    assert "app:v1 is already live on blue; nothing to change" in same.out
    assert "  production :80: blue -> blue (unchanged)" in same.out


def test_diff_of_a_first_deploy_names_the_stacks_it_would_create(sandbox, tmp_path,
                                                                 monkeypatch, capsys):
    env = empty_account(sandbox, tmp_path, monkeypatch)[1]
    result = run(env, "diff", "--image", "app:v1", capsys=capsys)
    assert result.code == 0, result
    for line in ("  demo-elb: created from the config's template",
                 "  demo-blue: created from the config's template",
                 "  production :80: nothing -> blue", "  test :8080: nothing -> green",
                 "  green: - -> app:v1"):
        assert line in result.out.splitlines()
    assert "CreateChangeSet" not in env.aws.calls and "CreateStack" not in env.aws.calls


def events_of(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_json_output_of_a_deploy_validates_against_the_published_schema(shop, sandbox, tmp_path,
                                                                      capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    for key, value in {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
                       "GITHUB_RUN_ID": "42"}.items():
        monkeypatch.setenv(key, value)
    result = run(shop, "deploy", "--image", "app:v2", "--output", "json", "--report",
                 str(tmp_path / "report"), capsys=capsys)
    assert result.code == 0, result
    assert prod(sandbox) == "hello from app:v2"
    events = events_of(result.out)  # every stdout line is one JSON object
    validator = jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for event in events:
        validator.validate(event)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and events[-1]["exit_code"] == 0
    assert {"phase_start", "phase_end", "stack_event", "health", "message", "result",
            "lock"} <= set(kinds)
    told = [(e["stage"], e["channel"], e["delivered"]) for e in events
            if e["type"] == "notification"]
    assert told == [(stage, channel, True) for stage in ("start", "success")
                    for channel in ("the webhook at 127.0.0.1", "the SNS topic demo-deploys")]
    ends = [e for e in events if e["type"] == "phase_end"]
    assert [e["step"] for e in ends] == ["UpdateService", "Verify", "Swap", "VerifyLive"]
    assert all(e["outcome"] == "done" for e in ends)
    assert any(e["stack"] == "demo-green" and e["status"] == "UPDATE_COMPLETE"
               for e in events if e["type"] == "stack_event")
    # the text lines went nowhere: stderr has no progress (only JSON on stdout)
    assert result.err == ""

    # the report of that deploy
    markdown = (tmp_path / "report" / "report.md").read_text()
    config = str(shop.config_path)
    assert f"| undo | `stackswap rollback --config {config} --to blue` |" in markdown
    assert "| production | blue | green |" in markdown
    assert "| image of green | app:v1 | app:v2 |" in markdown
    assert "([CI run](https://github.com/o/r/actions/runs/42))" in markdown
    assert "| who | arn:aws:" in markdown
    assert (tmp_path / "summary.md").read_text() == markdown + "\n"
    page = open_page(tmp_path / "report" / "report.html", tmp_path / "report.png")
    assert page.console == []
    assert page.distinct_pixels > 8, "the screenshot is an empty page"
    assert "stackswap deploy demo: succeeded" in page.text
    assert "stackswap rollback --config" in page.text


def test_a_failed_deploy_has_a_failed_phase_and_an_error_event(shop, sandbox, capsys):
    result = run(shop, "deploy", "--image", "app:v2", "--color", "blue", "--output", "json",
                 capsys=capsys)
    assert result.code == 3, result
    events = events_of(result.out)
    for event in events:
        jsonschema.validate(event, SCHEMA)
    (error,) = [e for e in events if e["type"] == "error"]
    assert "blue is the live colour" in error["message"]
    assert events[-1] == {**events[-1], "type": "end", "exit_code": 3}
    assert "stackswap: blue is the live colour" in result.err


def action_step(step_id: str) -> dict:
    action = yaml.safe_load((REPO / "action.yml").read_text())
    return next(step for step in action["runs"]["steps"] if step.get("id") == step_id)


def test_the_action_takes_image_and_environment_only_and_maps_its_outputs():
    action = yaml.safe_load((REPO / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert set(action["inputs"]) == {"image", "environment"}
    assert {name: output["value"] for name, output in action["outputs"].items()} == {
        name: f"${{{{ steps.deploy.outputs.{name} }}}}"
        for name in ("live-color", "previous-color", "image", "result")}


def test_the_actions_deploy_step_deploys_writes_the_summary_and_sets_outputs(shop, sandbox,
                                                                          tmp_path):
    """The action's own Deploy script, run as GitHub runs a `shell: bash` step (bash
    --noprofile --norc -eo pipefail: "Workflow syntax for GitHub Actions", jobs.<job_id>.steps
    [*].shell), with the installed stackswap against the sandbox."""
    step = action_step("deploy")
    outputs, summary = tmp_path / "output", tmp_path / "summary.md"
    script = tmp_path / "deploy.sh"
    script.write_text(step["run"])
    environ = {**os.environ, "IMAGE": "app:v2", "CONFIG": str(shop.config_path),
               "GITHUB_OUTPUT": str(outputs), "GITHUB_STEP_SUMMARY": str(summary),
               "RUNNER_TEMP": str(tmp_path),
               "PATH": f"{REPO / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert prod(sandbox) == "hello from app:v2"
    assert outputs.read_text().splitlines() == [
        "previous-color=blue", "live-color=green", "image=app:v2", "result=succeeded"]
    assert summary.read_text().startswith("# stackswap deploy demo: succeeded")
    assert (tmp_path / "stackswap-report" / "report.html").exists()

    # a config that is not there: the step fails with stackswap's code (2, bad input), and
    # still sets its outputs
    environ |= {"IMAGE": "app:v3", "CONFIG": str(tmp_path / "missing.toml")}
    done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                          env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert outputs.read_text().splitlines()[-4:] == [
        "previous-color=", "live-color=", "image=app:v3", "result=failed (exit 2)"]
