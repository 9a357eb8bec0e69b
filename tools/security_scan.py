"""The security scan of `make lint`: checkov over the templates of every load-balancer mode,
compared with a short committed baseline of deliberate findings (tools/checkov-baseline.toml).

It scans the committed templates/ and a render of each mode of tests/template_data.MODES (the
one home of the modes), all in one checkov run over a temporary folder, and fails on:

- a finding the baseline does not allow in that mode (a new weakness, or a known one in a mode
  where it has no reason);
- a baseline entry that no finding matches any more (stale), so the baseline stays true;
- a template checkov did not scan (a parse error must not pass as "no findings").

Each baseline entry names the check, the files and the logical id, the modes it is allowed in,
and the reason. checkov runs from its own venv (.venv-checkov, see the Makefile); this module only
reads its JSON report, so its tests need no checkov.
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BASELINE = REPO / "tools" / "checkov-baseline.toml"
COMMITTED = "committed"  # the mode name of templates/ as committed
TEMPLATES = ("elb.yml", "blue.yml", "green.yml", "deploy-role.yml")
ENTRY_KEYS = {"checks", "files", "resources", "modes", "reason"}

# (mode, file, check id, logical id)
Key = tuple[str, str, str, str]


class ScanError(Exception):
    """The scan cannot be trusted: a bad baseline, an unreadable report, a file not scanned."""


def load_baseline(text: str, modes: Iterable[str]) -> dict[Key, str]:
    """Baseline TOML -> {key: reason}. An entry allows every combination of its checks, files,
    resources (logical ids) and modes, and each combination must fail (else it is stale). Every
    entry needs all of ENTRY_KEYS and a reason, names known modes and files only, and no key
    may be allowed twice."""
    known = set(modes)
    allowed: dict[Key, str] = {}
    for number, entry in enumerate(tomllib.loads(text).get("allow", []), start=1):
        where = f"baseline entry {number}"
        if set(entry) != ENTRY_KEYS:
            raise ScanError(f"{where}: needs exactly {sorted(ENTRY_KEYS)}, has {sorted(entry)}")
        if not isinstance(entry["reason"], str) or not entry["reason"].strip():
            raise ScanError(f"{where}: no reason")
        for field in ENTRY_KEYS - {"reason"}:
            if not isinstance(entry[field], list) or not entry[field]:
                raise ScanError(f"{where}: {field} must be a non-empty list")
        for field, choices in (("modes", known), ("files", set(TEMPLATES))):
            unknown = set(entry[field]) - choices
            if unknown:
                raise ScanError(f"{where}: unknown {field} {sorted(unknown)}")
        for mode, file, check, resource in itertools.product(
                entry["modes"], entry["files"], entry["checks"], entry["resources"]):
            key = (mode, file, check, resource)
            if key in allowed:
                raise ScanError(f"{where}: {'/'.join(key)} is allowed twice")
            allowed[key] = entry["reason"]
    return allowed


def _reports(report: dict | list) -> list[dict]:
    # One framework gives one report object, several give a list of them.
    return report if isinstance(report, list) else [report]


def _key(check: dict) -> Key:
    mode, file = Path(check["file_path"]).parts[-2:]
    # "AWS::EC2::SecurityGroup.LoadBalancerSecurityGroup" -> the logical id
    logical_id = check["resource"].split(".", 1)[1]
    return mode, file, check["check_id"], logical_id


def findings(report: dict | list) -> set[Key]:
    """The failed checks of a checkov JSON report."""
    return {_key(check) for part in _reports(report)
            for check in part.get("results", {}).get("failed_checks", [])}


def scanned(report: dict | list) -> set[tuple[str, str]]:
    """(mode, file) of every template that any check passed or failed on."""
    files = set()
    for part in _reports(report):
        results = part.get("results", {})
        for check in results.get("passed_checks", []) + results.get("failed_checks", []):
            files.add(_key(check)[:2])
    return files


def compare(found: set[Key], allowed: dict[Key, str]) -> tuple[list[Key], list[Key]]:
    """(findings the baseline does not allow, baseline entries no finding matches)."""
    return sorted(found - set(allowed)), sorted(set(allowed) - found)


def check_report(report: dict | list, allowed: dict[Key, str], modes: Iterable[str]
                 ) -> list[str]:
    """Every problem of a report against the baseline, one line each; [] when it passes."""
    problems = []
    for part in _reports(report):
        errors = part.get("summary", {}).get("parsing_errors", 0)
        if errors:
            problems.append(f"checkov could not parse {errors} file(s)")
    expected = {(mode, file) for mode in modes for file in TEMPLATES}
    for mode, file in sorted(expected - scanned(report)):
        problems.append(f"{mode}/{file}: not scanned")
    unexpected, stale = compare(findings(report), allowed)
    for mode, file, check, resource in unexpected:
        problems.append(f"{mode}/{file}: {check} fails on {resource} (not in the baseline: fix "
                        f"it, or add it to {BASELINE.relative_to(REPO)} with its reason)")
    for mode, file, check, resource in stale:
        problems.append(f"{mode}/{file}: {check} on {resource} no longer fails (stale baseline "
                        f"entry: remove it from {BASELINE.relative_to(REPO)})")
    return problems


def summary(report: dict | list) -> dict[str, list[str]]:
    """mode -> sorted "CHECK file:resource" of its failed checks (what docs/security.md lists)."""
    result: dict[str, list[str]] = {}
    for mode, file, check, resource in sorted(findings(report)):
        result.setdefault(mode, []).append(f"{check} {file}:{resource}")
    return result


# --- running checkov ---------------------------------------------------------------------------

def write_templates(root: Path) -> list[str]:
    """templates/ as committed and a render of every mode, one folder each; the mode names."""
    from stackswap.generator.render import rendered_files

    from tests import template_data

    (root / COMMITTED).mkdir()
    for name in TEMPLATES:
        (root / COMMITTED / name).write_text((REPO / "templates" / name).read_text())
    for mode in template_data.MODES:
        (root / mode).mkdir()
        files = rendered_files(template_data.mode_config(mode))
        for name in TEMPLATES:
            (root / mode / name).write_text(files[name])
    return [COMMITTED, *template_data.MODES]


def run_checkov(checkov: str, root: Path) -> dict | list:
    # --skip-download: no request to the Bridgecrew/Prisma platform; the checks are in checkov.
    command = [checkov, "--directory", str(root), "--framework", "cloudformation",
               "--output", "json", "--skip-download", "--compact"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    try:
        return json.loads(result.stdout)
    except json.JSONDecodeError:
        raise ScanError(f"checkov gave no JSON report (exit {result.returncode}): "
                        f"{(result.stderr or result.stdout).strip()[-2000:]}") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.security_scan",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--checkov", default=".venv-checkov/bin/checkov",
                        help="the checkov executable (default: %(default)s)")
    parser.add_argument("--baseline", default=str(BASELINE), help="default: %(default)s")
    parser.add_argument("--summary", action="store_true",
                        help="also print every mode's failed checks")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="stackswap-scan-") as folder:
            modes = write_templates(Path(folder))
            allowed = load_baseline(Path(args.baseline).read_text(), modes)
            report = run_checkov(args.checkov, Path(folder))
    except ScanError as error:
        print(f"security scan: {error}", file=sys.stderr)
        return 1
    problems = check_report(report, allowed, modes)
    if args.summary:
        for mode, failed in summary(report).items():
            print(f"{mode}: {', '.join(failed)}")
    for problem in problems:
        print(f"security scan: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"security scan: checkov over {len(modes)} modes x {len(TEMPLATES)} templates, every "
          f"finding in the baseline ({len(allowed)} allowed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
