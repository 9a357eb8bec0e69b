"""`stackswap render` (what `make render` and `make lint` run): the config's templates written
into a folder by the generator (generator/render.py), or with `--check` compared with the files
there. The generator is loaded only for this command: every other one starts without
troposphere."""

from __future__ import annotations

import argparse
from pathlib import Path

from stackswap.environment.errors import BadInput, Refused
from stackswap.environment.load import load_config
from stackswap.orchestrator.output.log import print_result


def render(args: argparse.Namespace) -> int:
    from stackswap.generator.render import stale_templates, write_templates

    config = load_config(args.config)
    out_dir = Path(args.out)
    if args.check:
        stale = stale_templates(config, out_dir)
        if stale:
            raise Refused(f"stale templates in {out_dir}/: {', '.join(stale)} "
                          f"(run `make render` and commit them)")
        print_result(f"templates in {out_dir}/ are up to date")
        return 0
    try:
        written = write_templates(config, out_dir)
    except OSError as error:
        raise BadInput(f"cannot write the templates into {out_dir}/: "
                       f"{error.strerror or error}") from None
    for path in written:
        print_result(f"wrote {path}")
    return 0
