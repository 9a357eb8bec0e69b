"""`make bench` (`python -m bench`): how fast stackswap notices a finished stack and at what API
cost, how a whole deploy compares with the article's AWS CLI procedure, and how long `make
render` and the test suite take — on the local sandbox, written to bench/results.md.

Modules, one job each:

    stats      median / p90 / max, and a target shown as ✓/✗
    calls      counting a boto3 session's API calls with botocore's event system
    detection  table 1: detection delay and describe calls per second while waiting
    deploy     table 2: end-to-end deploy, stackswap vs the AWS CLI procedure
    build      table 3: `make render` and the full test suite
    report     the tables as text, and results.md (jinja2)
"""
