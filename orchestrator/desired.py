"""What the config says the ALB stack should be — its config-derived parameters and its template,
rendered from the config — and how a deployed ALB stack differs from that. No I/O.

The config's parameters are built in parameters.py, which the comparison below checks against.
The template is rendered only when it is compared or sent: troposphere is imported then, not at
start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackswap.orchestrator.parameters import alb_parameters

if TYPE_CHECKING:
    from stackswap.environment.config import Config

# Top-level template sections whose entries are named when they differ.
NAMED_SECTIONS = ("Parameters", "Conditions", "Resources", "Outputs")


def alb_template_body(config: Config) -> str:
    """The ALB stack's template rendered from the config (cached per config by render.py)."""
    from stackswap.generator.render import alb_stack_body

    return alb_stack_body(config)


def parameter_differences(config: Config, deployed: dict[str, str]) -> list[str]:
    found = []
    for key, wanted in alb_parameters(config).items():
        have = deployed.get(key)
        if have is None:
            found.append(f"parameter {key} is missing (the config says {wanted})")
        elif normalized(have) != normalized(wanted):
            found.append(f"parameter {key} is {have}, the config says {wanted}")
    return found


def normalized(value: str) -> str:
    """A list parameter as CloudFormation may echo it back ("a, b" or "a,b")."""
    return ",".join(part.strip() for part in value.split(","))


def template_differences(deployed: str, rendered: str) -> list[str]:
    """What differs between the deployed template text (GetTemplate) and the render: the
    resources, parameters, conditions and outputs by logical id, or the other sections."""
    if deployed == rendered:
        return []
    from cfn_flip import load  # troposphere's own dependency: reads YAML with !Ref tags

    try:
        old, new = load(deployed)[0], load(rendered)[0]
    except Exception:  # not a template cfn_flip can read: say so without details
        return ["the template differs from the config's render"]
    found = []
    for section in sorted(set(old) | set(new)):
        before, after = old.get(section), new.get(section)
        if before == after:
            continue
        if section not in NAMED_SECTIONS or not isinstance(before, dict) \
                or not isinstance(after, dict):
            found.append(f"template section {section} differs")
            continue
        kind = section[:-1].lower() if section != "Conditions" else "condition"
        for name in sorted(set(before) | set(after)):
            if name not in after:
                found.append(f"{kind} {name} is deployed but not in the config's render")
            elif name not in before:
                found.append(f"{kind} {name} is new in the config's render")
            elif before[name] != after[name]:
                found.append(f"{kind} {name} differs")
    return found


def alb_differences(config: Config, deployed_template: str,
                    deployed_parameters: dict[str, str]) -> tuple[str, ...]:
    """How the deployed ALB stack differs from the config (empty: it does not)."""
    return tuple(template_differences(deployed_template, alb_template_body(config))
                 + parameter_differences(config, deployed_parameters))
