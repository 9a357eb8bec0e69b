"""deploy.notify: the team hears of a run's start, each move of production's traffic, and its
end (success, failure, rollback), each with a one-line summary and the command that undoes it;
a notification that fails never fails the run. The real CLI against the moto server; the
receiver is the sandbox's webhook sink, a real HTTP server on loopback.

What the receivers do, as these tests rely on it:
- Slack's incoming webhooks take a POST of a JSON body with "text" and answer 200 "ok"; a body
  that is not JSON is 400 "invalid_payload", one without text 400 "no_text" (docs.slack.dev,
  "Sending messages using incoming webhooks"). A webhook URL is a secret: Slack's guide keeps it
  in an environment variable, out of source code.
- SNS Publish (API Reference): Subject is "ASCII text that begins with a letter, number, or
  punctuation mark; must not include line breaks or control characters; and must be less than
  100 characters long"; an HTTP(S) subscription receives a JSON envelope of Type "Notification"
  with Subject and Message (SNS Developer Guide, "Parsing message formats"); publishing to a
  topic that does not exist is a NotFound error.
"""

from __future__ import annotations

import json
import shlex
import socket
import threading

import pytest
from stackswap.environment.errors import ConfigError
from stackswap.environment.load import parse_config
from stackswap.sandbox.webhook_sink import WebhookSink

from tests.harness import FailingUpdate, Requests, append_table
from tests.test_alb_config import reconfigure
from tests.test_config import example
from tests.test_shift import StopAt


@pytest.fixture
def sink():
    receiver = WebhookSink()
    receiver.start()
    yield receiver
    receiver.stop()


def notify(env, **values: str) -> None:
    """Give the env's config a [deploy.notify] table with these keys (TOML values)."""
    append_table(env, "deploy.notify", **values)


@pytest.fixture
def team(env, sink):
    """The env's config tells a webhook (the sink) and an SNS topic subscribed to the sink."""
    sns = env.client("sns")
    topic = sns.create_topic(Name="shop-deploys")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=sink.sns_endpoint)
    notify(env, webhook_url=json.dumps(sink.webhook_url), sns_topic_arn=json.dumps(topic))
    return env


def said(sink, channel: str = "webhook") -> list[str]:
    return [message["text"] for message in sink.messages() if message["channel"] == channel]


def test_the_team_hears_start_each_traffic_move_and_success_with_a_working_undo(team, sink):
    assert team.call("deploy", "--image", "app:v1").code == 0
    sink.clear()
    result = team.call("deploy", "--image", "app:v2")
    assert result.code == 0, result
    config = shlex.quote(str(team.config_path))
    undo = f"stackswap rollback --config {config} --to blue"
    assert said(sink) == [
        "stackswap shop: deploy of app:v2 started: production on blue (app:v1)\n"
        "undo: nothing has changed yet",
        "stackswap shop: deploy of app:v2 succeeded: production on green (app:v2)\n"
        f"undo: `{undo}`",
    ]
    # the same messages through SNS, each with its summary line as the subject
    assert said(sink, "sns") == said(sink)
    assert [m["subject"] for m in sink.messages() if m["channel"] == "sns"] == [
        "stackswap shop: deploy of app:v2 started",
        "stackswap shop: deploy of app:v2 succeeded"]
    assert "warning" not in result.err
    # the undo command, as the team reads it, puts production back
    argv = shlex.split(undo)[1:]
    assert team.call(*argv, config=False).code == 0
    assert team.forwards(80) == "blue"
    assert said(sink)[-1] == ("stackswap shop: rollback to blue succeeded: production on blue "
                              f"(app:v1)\nundo: `stackswap swap --config {config} --to green`")


def test_a_failed_deploy_is_told_with_its_reason_and_that_nothing_needs_undoing(team, sink):
    assert team.call("deploy", "--image", "app:v1").code == 0
    sink.clear()
    team.aws.hooks.append(("before-call.cloudformation.*", FailingUpdate(
        team, "shop-green", "Service", "Service did not stabilize")))
    result = team.call("deploy", "--image", "app:v2")
    assert result.code == 4, result
    start, failure = said(sink)
    assert start.startswith("stackswap shop: deploy of app:v2 started")
    summary, undo = failure.split("\n")
    assert summary.startswith("stackswap shop: deploy of app:v2 failed: exit 4: ")
    assert "Service UPDATE_FAILED: Service did not stabilize" in summary
    assert undo == "undo: none: production and both colours are as before the run"


def test_a_swap_the_run_reverted_is_told_as_a_rollback(team, sink):
    # CloudFormation rolls a failed update back (UPDATE_ROLLBACK_COMPLETE): stackswap confirms
    # :80 on the old colour and exits 5 (docs/failures.md).
    assert team.call("deploy", "--image", "app:v1").code == 0
    sink.clear()
    team.aws.hooks.append(("before-call.cloudformation.*", FailingUpdate(
        team, "shop-elb", "ProductionListener", "Listener update failed",
        resource_type="AWS::ElasticLoadBalancingV2::Listener")))
    result = team.call("deploy", "--image", "app:v2")
    assert result.code == 5, result
    last = said(sink)[-1]
    assert last.startswith("stackswap shop: deploy of app:v2 rolled back: exit 5: the swap "
                           "failed and CloudFormation rolled it back")
    assert team.forwards(80) == "blue"


def test_a_notification_that_fails_never_fails_the_deploy(env, sink):
    # a webhook that answers 404, and a topic that does not exist
    notify(env, webhook_url=json.dumps(sink.url + "/no-such-hook"),
           sns_topic_arn='"arn:aws:sns:eu-west-1:123456789012:gone"')
    result = env.call("deploy", "--image", "app:v1", "--output", "json")
    assert result.code == 0, result
    assert env.forwards(80) == "blue"
    events = [json.loads(line) for line in result.out.splitlines()]
    sent = [e for e in events if e["type"] == "notification"]
    assert [(e["stage"], e["delivered"]) for e in sent] == [
        ("start", False), ("start", False), ("success", False), ("success", False)]
    assert sent[0]["channel"] == "the webhook at 127.0.0.1"
    assert sent[0]["detail"] == "HTTP 404 Not Found: no_service"
    assert sent[1]["channel"] == "the SNS topic gone"
    # AWS: NotFound "Topic does not exist"; moto words it "Endpoint does not exist"
    assert sent[1]["detail"].startswith("AWS refused Publish: ")
    assert "does not exist" in sent[1]["detail"]
    assert events[-1] == {**events[-1], "type": "end", "exit_code": 0}
    # as text: one warning line per failed notification, and the deploy's own result
    text = env.call("deploy", "--image", "app:v2")
    assert text.code == 0, text
    warnings = [line for line in text.err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 4  # start and success, on both channels
    assert warnings[0] == ("warning: could not notify the webhook at 127.0.0.1 of the start "
                           "(HTTP 404 Not Found: no_service); the run goes on")


def test_a_webhook_that_never_answers_costs_its_timeout_and_no_more(env):
    # accepts connections and never answers: each notification waits timeout_seconds
    silent = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    accepting = threading.Thread(target=lambda: [held.append(silent.accept()[0])
                                                 for _ in range(2)], daemon=True)
    accepting.start()
    try:
        notify(env, webhook_url=json.dumps(f"http://127.0.0.1:{silent.getsockname()[1]}/"),
               timeout_seconds="1")
        result = env.call("deploy", "--image", "app:v1")
    finally:
        silent.close()
        for connection in held:
            connection.close()
    assert result.code == 0, result
    assert "could not notify the webhook at 127.0.0.1 of the start (timed out)" in result.err
    assert env.forwards(80) == "blue"


def test_the_webhook_url_may_come_from_an_environment_variable(env, sink, monkeypatch):
    notify(env, webhook_url_env='"SHOP_WEBHOOK_URL"')
    monkeypatch.delenv("SHOP_WEBHOOK_URL", raising=False)
    unset = env.call("deploy", "--image", "app:v1")
    assert unset.code == 0, unset
    assert unset.err.count("warning:") == 1
    assert ("warning: $SHOP_WEBHOOK_URL (deploy.notify.webhook_url_env) is not set: no webhook "
            "notifications this run") in unset.err
    assert sink.messages() == []
    # a value that is no webhook URL is said without echoing it (it may be a secret)
    monkeypatch.setenv("SHOP_WEBHOOK_URL", "http://hooks.example.com/secret-token")
    plain = env.call("deploy", "--image", "app:v2")
    assert plain.code == 0 and "must be an https URL" in plain.err
    assert "secret-token" not in plain.err
    monkeypatch.setenv("SHOP_WEBHOOK_URL", sink.webhook_url)
    assert env.call("rollback").code == 0
    assert said(sink)[-1].startswith("stackswap shop: rollback succeeded: production on blue")


def test_dry_runs_diffs_status_and_runs_that_change_nothing_tell_nobody(team, sink):
    assert team.call("deploy", "--image", "app:v1").code == 0
    sink.clear()
    for argv in (("deploy", "--image", "app:v2", "--dry-run"), ("diff", "--image", "app:v2"),
                 ("status",), ("swap", "--dry-run"), ("rollback", "--to", "blue")):
        result = team.call(*argv)
        assert result.code == 0, (argv, result)
    assert sink.messages() == []
    # nor does it read AWS once more for a message it will not send: the same calls as without
    # [deploy.notify]
    calls = []
    for text in (team.config_path.read_text(),
                 team.config_path.read_text().split("\n[deploy.notify]\n")[0] + "\n"):
        team.config_path.write_text(text)
        requests = Requests().install(team.aws)
        assert team.call("rollback", "--to", "blue").code == 0
        team.aws.hooks.remove(("before-parameter-build.*.*", requests))
        calls.append([name for name, _ in requests.seen])
    assert calls[0] == calls[1]


def test_a_refused_run_is_told(team, sink):
    assert team.call("deploy", "--image", "app:v1").code == 0
    sink.clear()
    result = team.call("deploy", "--image", "app:v2", "--color", "blue")
    assert result.code == 3
    (refused,) = said(sink)
    assert refused.startswith("stackswap shop: deploy of app:v2 to blue failed: exit 3: blue is "
                              "the live colour")


def test_each_step_of_a_shift_is_told(team, sink):
    assert team.call("deploy", "--image", "app:v1").code == 0
    reconfigure(team, "deploy", strategy='"linear"', step_percent="50", step_interval='"30s"')
    sink.clear()
    assert team.call("deploy", "--image", "app:v2").code == 0
    summaries = [text.split("\n")[0] for text in said(sink)]
    assert summaries == [
        "stackswap shop: deploy of app:v2 started: production on blue (app:v1)",
        "stackswap shop: deploy of app:v2 moved traffic: production blue 50 % / green 50 %",
        "stackswap shop: deploy of app:v2 succeeded: production on green (app:v2)"]
    # half-way, the undo is the rollback that puts all of production back on blue
    assert said(sink)[1].endswith("--to blue`")


def test_the_ci_run_is_linked(team, sink, monkeypatch):
    for key, value in {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r",
                       "GITHUB_RUN_ID": "42"}.items():
        monkeypatch.setenv(key, value)
    assert team.call("deploy", "--image", "app:v1").code == 0
    assert all(text.endswith("\nrun: https://github.com/o/r/actions/runs/42")
               for text in said(sink))


# --- the config ------------------------------------------------------------------------------

@pytest.mark.parametrize(("notify_table", "key", "problem"), [
    ({"webhook_url": "http://hooks.slack.com/services/T/B/secret"}, "webhook_url",
     "must be an https URL"),
    ({"webhook_url": "https://hooks.slack.com/x", "webhook_url_env": "HOOK"}, "webhook_url_env",
     "not both"),
    ({"webhook_url_env": "1HOOK"}, "webhook_url_env", "the name of an environment variable"),
    ({"sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:a.b"}, "sns_topic_arn",
     "an SNS topic ARN"),
    ({"timeout_seconds": 0}, "timeout_seconds", "from 1 to 60"),
    ({"channel": "#deploys"}, "channel", "unknown key"),
])
def test_bad_notify_settings_name_the_key_and_never_echo_a_webhook_url(notify_table, key,
                                                                      problem):
    raw = example()
    raw["deploy"]["notify"] = notify_table
    with pytest.raises(ConfigError) as error:
        parse_config(raw, "shop.toml")
    assert error.value.message.startswith(f"shop.toml: deploy.notify.{key}: ")
    assert problem in error.value.message
    assert "secret" not in error.value.message


def test_notify_settings_that_are_accepted():
    raw = example()
    raw["deploy"]["notify"] = {"webhook_url": "https://hooks.slack.com/services/T/B/X",
                                "sns_topic_arn": "arn:aws:sns:eu-west-1:123456789012:d.fifo"}
    notify_settings = parse_config(raw).deploy.notify
    assert notify_settings.webhook_url == "https://hooks.slack.com/services/T/B/X"
    assert notify_settings.sns_topic_arn.endswith(":d.fifo")
    assert notify_settings.timeout_seconds == 5
    assert parse_config(example()).deploy.notify.any is False


def test_a_shift_stopped_by_sigterm_is_told_with_the_rollback_that_undoes_it(team, sink):
    # A CI runner's cancel (SIGTERM) mid-shift: the run ends 143 with the lock released, and
    # the team hears where production was left and how to put it all back on blue.
    assert team.call("deploy", "--image", "app:v1").code == 0
    reconfigure(team, "deploy", strategy='"linear"', step_percent="50", step_interval='"30s"')
    sink.clear()
    result = team.call("deploy", "--image", "app:v2", clock=StopAt(5))
    assert result.code == 143, result
    summary, undo = said(sink)[-1].split("\n")
    assert summary.startswith("stackswap shop: deploy of app:v2 failed: exit 143: interrupted "
                              "by SIGTERM")
    assert undo == (f"undo: `stackswap rollback --config {shlex.quote(str(team.config_path))} "
                    f"--to blue`")
    assert said(sink, "sns")[-1] == said(sink)[-1]
    assert team.call(*shlex.split(undo[7:-1])[1:], config=False).code == 0
    assert team.forwards(80) == "blue"


def test_a_load_balancer_update_is_told(team, sink):
    assert team.call("deploy", "--image", "app:v1").code == 0
    sink.clear()
    reconfigure(team, "health", interval_seconds="10")
    assert team.call("update-alb").code == 0
    assert [text.split("\n")[0] for text in said(sink)] == [
        "stackswap shop: load balancer update started: production on blue (app:v1)",
        "stackswap shop: load balancer update succeeded: production on blue (app:v1)"]
    assert said(sink)[-1].endswith("\nundo: put the config back as it was, then `stackswap "
                                   f"update-alb --config {shlex.quote(str(team.config_path))}`")


def test_a_retire_is_told_with_the_deploy_that_starts_the_colour_again(team, sink):
    # Retiring scales the idle colour to zero tasks through its stack's DesiredCount (ECS
    # UpdateService: a desiredCount of 0 stops every task); a --no-swap deploy of its own image
    # starts them again, production untouched.
    assert team.call("deploy", "--image", "app:v1").code == 0
    assert team.call("deploy", "--image", "app:v2").code == 0
    sink.clear()
    assert team.call("retire").code == 0
    assert team.parameter("shop-blue", "DesiredCount") == "0"
    summary, undo = said(sink)[-1].split("\n")
    assert summary == ("stackswap shop: retire of the idle colour succeeded: production on "
                       "green (app:v2)")
    config = shlex.quote(str(team.config_path))
    assert undo == (f"undo: `stackswap deploy --config {config} --image app:v1 --color blue "
                    f"--no-swap`")
    assert team.call(*shlex.split(undo[7:-1])[1:], config=False).code == 0
    assert team.parameter("shop-blue", "DesiredCount") == "2"
    assert team.forwards(80) == "green"
