"""`stackswap sandbox up|status|fail-next-update|down` as a user runs them (sandbox.cli.main),
and `running_sandbox` for programs: what they print, their exit codes, and that nothing is left
running or on disk afterwards."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
from urllib.parse import urlsplit

from stackswap.environment.load import load_config
from stackswap.orchestrator import cli
from stackswap.sandbox.lifecycle import process_alive, running_sandbox

from tests.conftest import REPO
from tests.harness import no_http_answer


def main(argv: list[str]) -> int:
    """`stackswap sandbox ARGV`, in this process."""
    return cli.main(["sandbox", *argv])

EXPORTED = {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
            "AWS_DEFAULT_REGION", "STACKSWAP_CONFIG", "STACKSWAP_SANDBOX_PROD_URL",
            "STACKSWAP_SANDBOX_TEST_URL"}


def listening(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex((parts.hostname, parts.port)) == 0


def test_up_status_down_leave_nothing_behind(tmp_path, capsys):
    directory = tmp_path / "sandbox"
    assert main(["--dir", str(directory), "up", "--stack-seconds", "0.3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in printed if line.startswith("export "))
    assert set(exports) >= EXPORTED
    pid = json.loads((directory / "sandbox.json").read_text())["pid"]
    servers = [exports[key] for key in ("AWS_ENDPOINT_URL", "STACKSWAP_SANDBOX_ADMIN_URL")]
    proxies = [exports[key] for key in ("STACKSWAP_SANDBOX_PROD_URL",
                                        "STACKSWAP_SANDBOX_TEST_URL",
                                        "STACKSWAP_SANDBOX_PRIVATE_URL")]
    urls = servers + proxies
    try:
        assert process_alive(pid) and all(map(listening, servers))
        assert all(urlsplit(url).hostname == "127.0.0.1" for url in urls)
        assert exports["STACKSWAP_SANDBOX_CLIENT_ADDRESS"] == "127.0.0.1"
        config = load_config(exports["STACKSWAP_CONFIG"])
        assert (config.deploy.production_url, config.deploy.test_url) == (
            exports["STACKSWAP_SANDBOX_PROD_URL"], exports["STACKSWAP_SANDBOX_TEST_URL"])
        assert config.listener.certificate_arns == () and config.deploy.ca_bundle is None
        # No load balancer yet: nothing listens on :80, :8080 or the NLB's port.
        assert all(map(no_http_answer, proxies))

        assert main(["--dir", str(directory), "up"]) == 3
        refused = capsys.readouterr().err
        assert refused.count("\n") == 1 and "already running" in refused

        assert main(["--dir", str(directory), "status"]) == 0
        assert f"pid {pid}" in capsys.readouterr().out
        assert main(["--dir", str(directory), "fail-next-update", "no-such-stack"]) == 2
        assert "no stack named no-such-stack" in capsys.readouterr().err
    finally:
        assert main(["--dir", str(directory), "down"]) == 0
    assert "stopped" in capsys.readouterr().out
    assert not process_alive(pid)
    assert not any(map(listening, urls))
    assert not directory.exists()


def test_up_with_https_and_a_client_address_writes_an_https_config_and_status_shows_it(
        tmp_path, capsys):
    directory = tmp_path / "sandbox"
    assert main(["--dir", str(directory), "up", "--https", "--client-address", "203.0.113.10",
                 "--stack-seconds", "0.3"]) == 0
    printed = capsys.readouterr().out
    exports = dict(line.removeprefix("export ").split("=", 1)
                   for line in printed.splitlines() if line.startswith("export "))
    try:
        assert "clients from 203.0.113.10 (--client-address); HTTPS listeners" in printed
        assert exports["STACKSWAP_SANDBOX_CLIENT_ADDRESS"] == "203.0.113.10"
        for key in ("STACKSWAP_SANDBOX_PROD_URL", "STACKSWAP_SANDBOX_TEST_URL",
                    "STACKSWAP_SANDBOX_PRIVATE_URL"):
            assert exports[key].startswith("https://127.0.0.1:")
        assert exports["STACKSWAP_SANDBOX_REDIRECT_URL"].startswith("http://127.0.0.1:")
        config = load_config(exports["STACKSWAP_CONFIG"])
        (certificate,) = config.listener.certificate_arns
        assert config.listener.https and config.listener.production_port == 443
        assert (config.deploy.production_url, config.deploy.test_url) == (
            exports["STACKSWAP_SANDBOX_PROD_URL"], exports["STACKSWAP_SANDBOX_TEST_URL"])
        assert config.deploy.ca_bundle == exports["STACKSWAP_SANDBOX_CA_BUNDLE"] == str(
            directory / "sandbox-ca.pem")
        assert b"BEGIN CERTIFICATE" in (directory / "sandbox-ca.pem").read_bytes()

        assert main(["--dir", str(directory), "status"]) == 0
        status = capsys.readouterr().out
        assert "client address 203.0.113.10" in status
        assert f"certificate    {certificate}" in status
        assert f"production :443  {exports['STACKSWAP_SANDBOX_PROD_URL']}" in status
    finally:
        assert main(["--dir", str(directory), "down"]) == 0
    assert not directory.exists()

    assert main(["--dir", str(directory), "up", "--client-address", "not-an-ip"]) == 2
    assert "must be an IP address" in capsys.readouterr().err

    assert main(["--dir", str(directory), "down"]) == 0
    assert "no sandbox was running" in capsys.readouterr().out
    assert main(["--dir", str(directory), "status"]) == 3


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    for argv in (["up", "--stack-seconds", "-1"], ["explode"], ["fail-next-update"]):
        assert main(["--dir", str(tmp_path), *argv]) == 2
        error = capsys.readouterr().err
        assert error.startswith("stackswap: ") and error.count("\n") == 1


def test_demo_shows_v1_then_v2_after_the_swap_then_v1_after_the_rollback_a_broken_image_and_a_shift(
        capsys):
    assert main(["demo", "--stack-seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    answers = [re.sub(r"after \d+ s", "after N s", line.split("✓")[0].strip())
               for line in out.splitlines() if "expected:" in line]
    assert answers == ["hello from app:v1", "hello from app:v2", "hello from app:v1",
                       "hello from app:v2", "hello from app:v1", "exit 4 after N s",
                       "hello from app:v1", "hello from app:v4"]
    assert "ECS Deployment Circuit Breaker was triggered" in out
    loops = [line for line in out.splitlines() if line.strip().startswith("production during")]
    assert len(loops) == 4 and all(", 0 failed," in line for line in loops)
    # during the linear shift production served both versions
    assert "answers seen: hello from app:v1, hello from app:v4" in loops[-1]
    assert "demo passed" in out


def test_running_sandbox_stops_everything_on_exit(tmp_path):
    with running_sandbox(tmp_path / "sandbox", stack_seconds=0.3) as env:
        pid = json.loads((tmp_path / "sandbox" / "sandbox.json").read_text())["pid"]
        assert process_alive(pid) and listening(env["AWS_ENDPOINT_URL"])
    assert not process_alive(pid) and not listening(env["AWS_ENDPOINT_URL"])
    assert not (tmp_path / "sandbox").exists()


def test_the_stackswap_command_runs_the_sandbox_cli(tmp_path):
    done = subprocess.run([sys.executable, "-m", "stackswap.orchestrator", "sandbox", "--dir",
                           str(tmp_path), "status"],
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stderr.startswith("stackswap: no sandbox is running")
