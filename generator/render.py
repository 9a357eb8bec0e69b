"""Render the three stacks of an environment to YAML, deterministically.

The files are templates/elb.yml, blue.yml, green.yml, deploy-role.yml (the roles) and
alb-stack-policy.json; this module returns them, writes them, and names those on disk that differ
from a fresh render. It prints nothing: `stackswap render` (what `make render` runs,
orchestrator/commands/render.py) says what it wrote; with `--check` it writes nothing and fails
when the files on disk are stale, so CI notices templates that were not re-rendered after a code
or config change.
"""

from __future__ import annotations

import functools
from pathlib import Path

from stackswap.environment.config import Config
from stackswap.environment.names import COLORS
from stackswap.generator.elb import alb_template
from stackswap.generator.policies import alb_stack_policy_body
from stackswap.generator.service import service_template

HEADER = "# Rendered by stackswap (`make render`) from {config}. Do not edit by hand.\n"


# Rendering is pure and takes ~0.1 s a stack; a process that deploys more than once (the test
# suite, a long-lived tool) renders each (config, colour) once.
@functools.lru_cache(maxsize=32)
def alb_stack_body(config: Config) -> str:
    return alb_template(config).to_yaml(clean_up=True, long_form=False)


@functools.lru_cache(maxsize=32)
def service_stack_body(config: Config, color: str) -> str:
    return service_template(config, color).to_yaml(clean_up=True, long_form=False)


def deploy_role_stack_body(config: Config) -> str:
    # Imported here: deploy, swap and rollback render the ALB template to compare it with the
    # deployed one, and the roles' policy libraries would only slow their start.
    from stackswap.generator.deploy_role import deploy_role_template

    return deploy_role_template(config).to_yaml(clean_up=True, long_form=False)


def rendered_files(config: Config) -> dict[str, str]:
    """File name -> text for every stack of the environment, the deploy-role stack and the ALB
    stack's stack policy (JSON has no comments, so it carries no header)."""
    header = HEADER.format(config=Path(config.path).name)
    files = {"elb.yml": header + alb_stack_body(config)}
    for color in COLORS:
        files[f"{color}.yml"] = header + service_stack_body(config, color)
    files["deploy-role.yml"] = header + deploy_role_stack_body(config)
    files["alb-stack-policy.json"] = alb_stack_policy_body()
    return files


def write_templates(config: Config, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered_files(config).items():
        path = out_dir / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale_templates(config: Config, out_dir: Path) -> list[str]:
    """Names of the files in out_dir that differ from a fresh render (or are missing)."""
    stale = []
    for name, text in rendered_files(config).items():
        path = out_dir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale

