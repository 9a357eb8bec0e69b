"""All output of stackswap, and the only code that prints: the event log and its progress line
(log.py), status (status.py), diff and plan (diff.py), the run report (run_report.py, its
templates in templates/), notification text (notification.py), the GitHub job summary
(summary.py) and what several of them say alike (text.py). Results go to stdout, events and
errors to stderr."""
