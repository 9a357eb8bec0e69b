"""Gap 14: composite alarms, put and evaluated as CloudWatch does.

moto does not implement PutCompositeAlarm (over HTTP, a 500 page), and it never evaluates a
composite alarm's state from its rule. Fix: route PutCompositeAlarm to moto's PutMetricAlarm,
which already stores an `AlarmRule` as a composite alarm, and evaluate the rule (ALARM(), OK(),
INSUFFICIENT_DATA(), TRUE, FALSE, AND, OR, NOT, parentheses; names or ARNs) when the alarm is
put and whenever an alarm it names changes state. The sandbox's rollback triggers read these
states, so a composite alarm trigger rolls an update back when its rule holds.
"""

from __future__ import annotations

import re
from typing import Any

from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch import responses as cloudwatch_responses
from stackswap.sandbox.moto_gaps._common import ORIGINALS

_RULE_TOKEN = re.compile(
    r"\s*(?:(?P<function>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*"
    r"(?:\"(?P<quoted>[^\"]*)\"|'(?P<single>[^']*)'|(?P<bare>[^\s()]+))\s*\)"
    r"|(?P<word>TRUE|FALSE|AND|OR|NOT)\b|(?P<paren>[()]))")


def _rule_tokens(rule: str) -> list[tuple[str, str]]:
    """An AlarmRule as tokens: ("state", "ALARM name"), ("word", "AND"), ("paren", "(")."""
    tokens, position = [], 0
    while rule[position:].strip():
        match = _RULE_TOKEN.match(rule, position)
        if match is None:
            raise ValueError(f"cannot read the alarm rule at {rule[position:]!r}")
        if match["function"]:
            target = match["quoted"] or match["single"] or match["bare"]
            tokens.append(("state", f"{match['function']} {target}"))
        else:
            tokens.append(("word", match["word"]) if match["word"] else ("paren", match["paren"]))
        position = match.end()
    return tokens


def _rule_holds(rule: str, state_of: Any) -> bool:
    """Whether an AlarmRule is true, given state_of(name or ARN) -> state (None: no alarm).
    NOT binds tighter than AND, AND tighter than OR."""
    tokens = _rule_tokens(rule)

    def chain(at: int, word: str, operand: Any) -> tuple[bool, int]:
        """operand (word operand)*: OR over conjunctions, AND over negations."""
        value, at = operand(at)
        while at < len(tokens) and tokens[at] == ("word", word):
            right, at = operand(at + 1)
            value = (value or right) if word == "OR" else (value and right)
        return value, at

    def expression(at: int) -> tuple[bool, int]:
        return chain(at, "OR", conjunction)

    def conjunction(at: int) -> tuple[bool, int]:
        return chain(at, "AND", negation)

    def negation(at: int) -> tuple[bool, int]:
        if at < len(tokens) and tokens[at] == ("word", "NOT"):
            value, at = negation(at + 1)
            return not value, at
        return atom(at)

    def atom(at: int) -> tuple[bool, int]:
        if at >= len(tokens):
            raise ValueError("the alarm rule ends early")
        kind, text = tokens[at]
        if (kind, text) == ("paren", "("):
            value, at = expression(at + 1)
            if at >= len(tokens) or tokens[at] != ("paren", ")"):
                raise ValueError("unbalanced parentheses in the alarm rule")
            return value, at + 1
        if kind == "state":
            wanted, target = text.split(" ", 1)
            return state_of(target) == wanted, at + 1
        if kind == "word" and text in ("TRUE", "FALSE"):
            return text == "TRUE", at + 1
        raise ValueError(f"unexpected {text!r} in the alarm rule")

    value, end = expression(0)
    if end != len(tokens):
        raise ValueError("unexpected text after the alarm rule")
    return value


def _rule_targets(rule: str) -> set[str]:
    """The alarm names and ARNs a rule names (none when the sandbox cannot read it)."""
    try:
        return {text.split(" ", 1)[1] for kind, text in _rule_tokens(rule) if kind == "state"}
    except ValueError:
        return set()


def _reevaluate(backend: Any, composite: Any) -> bool:
    """Set a composite alarm to ALARM when its rule holds, else OK; True when that changed its
    state. A rule the sandbox cannot read leaves the state as it is."""
    alarms = backend.alarms

    def state_of(target: str) -> str | None:
        alarm = alarms.get(target) or next(
            (a for a in alarms.values() if a.alarm_arn == target), None)
        return alarm.state_value if alarm is not None else None

    try:
        state = "ALARM" if _rule_holds(composite.rule, state_of) else "OK"
    except ValueError:
        return False
    if state == composite.state_value:
        return False
    composite.update_state(f"Alarm rule {composite.rule} evaluated to {state}", "{}", state)
    return True


def _propagate(backend: Any, changed: Any) -> None:
    """Re-evaluate the composite alarms whose rule names `changed` (by name or ARN), and in turn
    those naming a composite whose state that changed. SetAlarmState API reference: a composite
    alarm "returns to its actual state only once any of its children alarms change state. It is
    also reevaluated if you update its configuration." """
    queue, rounds = [changed], 2 * len(backend.alarms)  # a cycle of composites cannot loop
    while queue and rounds > 0:
        alarm, rounds = queue.pop(0), rounds - 1
        for composite in list(backend.alarms.values()):
            if composite.rule is not None and composite is not alarm and \
                    _rule_targets(composite.rule) & {alarm.name, alarm.alarm_arn} and \
                    _reevaluate(backend, composite):
                queue.append(composite)


def _put_composite_alarm_action(self: Any) -> Any:
    result = self.put_metric_alarm()  # moto's: an AlarmRule makes it a composite alarm
    composite = self.cloudwatch_backend.alarms[self._get_param("AlarmName")]
    _reevaluate(self.cloudwatch_backend, composite)
    _propagate(self.cloudwatch_backend, composite)
    return result


def _set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str,
                     state_value: str) -> None:
    ORIGINALS["set_alarm_state"](self, alarm_name, reason, reason_data, state_value)
    _propagate(self, self.alarms[alarm_name])  # the alarm set by hand keeps the state given


PATCHES = {
    "put_composite_alarm_action": (cloudwatch_responses.CloudWatchResponse,
                                   "put_composite_alarm", _put_composite_alarm_action),
    "set_alarm_state": (cloudwatch_models.CloudWatchBackend, "set_alarm_state",
                        _set_alarm_state),
}
