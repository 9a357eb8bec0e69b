"""`python -m stackswap.generator` (what `make render` runs): the config's templates written
into a folder by the generator (generator/render.py), or with `--check` compared with the files
there; what it says goes through output/."""

from __future__ import annotations

import argparse
from pathlib import Path

from stackswap.environment.errors import StackswapError
from stackswap.environment.load import load_config
from stackswap.generator import render
from stackswap.orchestrator.output.log import error_line, print_result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stackswap.generator",
                                     description=render.__doc__.split("\n")[0])
    parser.add_argument("--config", default="stackswap.example.toml",
                        help="environment config (default: %(default)s)")
    parser.add_argument("--out", default="templates", help="output folder (default: %(default)s)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 when the templates on disk are stale")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config)
    except StackswapError as error:
        error_line(error.message)
        return error.exit_code
    out_dir = Path(args.out)
    if args.check:
        stale = render.stale_templates(config, out_dir)
        if stale:
            error_line(f"stale templates in {out_dir}/: {', '.join(stale)} "
                       f"(run `make render` and commit them)")
            return 1
        print_result(f"templates in {out_dir}/ are up to date")
        return 0
    for path in render.write_templates(config, out_dir):
        print_result(f"wrote {path}")
    return 0
