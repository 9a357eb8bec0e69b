"""Gates (orchestrator/gates.py): real shell commands, their environment, output and time limit."""

from __future__ import annotations

import os

from stackswap.orchestrator.gates import GateContext, run_gate

CONTEXT = GateContext("after_step", "shop", "http://prod.example", "http://test.example:8080",
                      None, "green", "blue", "app:v2", "app:v1", 25)


def test_a_gate_sees_the_urls_colours_images_and_weight_and_its_output_is_streamed():
    lines: list[str] = []
    failed = run_gate('echo "$STACKSWAP_GATE $STACKSWAP_NEW_COLOR=$STACKSWAP_NEW_IMAGE '
                      '$STACKSWAP_OLD_COLOR=$STACKSWAP_OLD_IMAGE $STACKSWAP_WEIGHT"; '
                      'echo "$STACKSWAP_PRODUCTION_URL $STACKSWAP_TEST_URL" >&2',
                      CONTEXT, 10, lines.append)
    assert failed is None
    assert lines == ["  [after_step] after_step green=app:v2 blue=app:v1 25",
                     "  [after_step] http://prod.example http://test.example:8080"]


def test_a_non_zero_exit_fails_the_gate():
    assert run_gate("exit 7", CONTEXT, 10, lambda line: None) == "exited with 7"


def test_a_gate_past_its_time_limit_is_stopped_with_its_children(tmp_path):
    marker = tmp_path / "pid"
    failed = run_gate(f"sleep 30 & echo $! > {marker}; wait", CONTEXT, 0.5, lambda line: None)
    assert failed.startswith("ran longer than its time limit")
    child = int(marker.read_text())
    try:
        os.kill(child, 0)
    except ProcessLookupError:
        pass  # the process group was stopped, the child with it
    else:
        # a zombie not yet reaped by init still answers kill(0): it must not be running
        with open(f"/proc/{child}/stat") as stat:
            assert stat.read().split()[2] in {"Z", "X"}
