"""The GitHub job summary: a run's report on the page of its CI job ($GITHUB_STEP_SUMMARY)."""

from __future__ import annotations

import os
from collections.abc import Mapping


def write_job_summary(markdown: str, environ: Mapping[str, str] = os.environ) -> None:
    """Append the report's Markdown to the job summary when GitHub Actions names one."""
    if summary_path := environ.get("GITHUB_STEP_SUMMARY"):
        with open(summary_path, "a", encoding="utf-8") as summary:
            summary.write(markdown + "\n")
