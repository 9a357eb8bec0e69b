"""`stackswap diff` and `--dry-run`: the plan, and what CloudFormation would change."""

from __future__ import annotations

from stackswap.orchestrator.output.log import print_result


def plan_text(lines: list[str], dry_run: bool) -> list[str]:
    return ["dry run, nothing changed:", *lines] if dry_run else lines


def diff_text(document: dict, dry_run: bool = False) -> list[str]:
    """The plan, then what CloudFormation would change in each stack, the traffic before and
    after on production and test, and the image per colour."""
    lines = plan_text(list(document["plan"]), dry_run)
    if document.get("length"):
        lines.append(f"this plan takes {document['length']['text']}")
    lines.append("CloudFormation would change (change sets created, described, deleted):")
    if not document["stacks"]:
        lines.append("  no stack")
    for stack in document["stacks"]:
        if stack["operation"] == "create":
            lines.append(f"  {stack['stack']}: created from the config's template")
            continue
        label = {"swap": "the swap's update"}.get(stack["operation"], "update")
        if stack["status"] == "NO_CHANGES":
            lines.append(f"  {stack['stack']} ({label}): nothing to change")
            continue
        if stack["status"] == "FAILED":
            lines.append(f"  {stack['stack']} ({label}): CloudFormation could not make a "
                         f"change set: {stack['reason']}")
            continue
        lines.append(f"  {stack['stack']} ({label}):")
        lines += [f"    {change['text']}" for change in stack["changes"]]
    lines.append("traffic:")
    for path in ("production", "test"):
        t = document["traffic"][path]
        moved = "" if t["before"] != t["after"] else " (unchanged)"
        lines.append(f"  {document['paths'][path]}: {t['before'] or 'nothing'} -> "
                     f"{t['after'] or 'nothing'}{moved}")
    lines.append("images:")
    for color, image in document["images"].items():
        moved = "" if image["before"] != image["after"] else " (unchanged)"
        lines.append(f"  {color}: {image['before'] or '-'} -> {image['after'] or '-'}{moved}")
    return lines


def print_diff(document: dict, dry_run: bool) -> None:
    print_result(*diff_text(document, dry_run), diff=document)

