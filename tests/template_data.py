"""Helpers to read rendered templates as plain data (long-form intrinsic functions)."""

from __future__ import annotations

import json

import cfn_flip


def load(yaml_text: str) -> dict:
    return json.loads(cfn_flip.to_json(yaml_text))


def resolve(node, parameters: dict, conditions: dict):
    """Evaluate Ref-to-parameter, Fn::Equals and Fn::If; leave resource Refs as {"Ref": id}."""
    if isinstance(node, list):
        return [resolve(item, parameters, conditions) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in parameters:
        return parameters[node["Ref"]]
    if set(node) == {"Fn::If"}:
        name, when_true, when_false = node["Fn::If"]
        return resolve(when_true if conditions[name] else when_false, parameters, conditions)
    return {key: resolve(value, parameters, conditions) for key, value in node.items()}


def evaluate_conditions(template: dict, parameters: dict) -> dict:
    result = {}
    for name, body in template.get("Conditions", {}).items():
        left, right = resolve(body["Fn::Equals"], parameters, result)
        result[name] = left == right
    return result
