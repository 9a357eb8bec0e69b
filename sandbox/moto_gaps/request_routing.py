"""Gap 25: moto's server lists its own package directory to route every request.

Not a difference in what AWS answers but in what an answer costs: `DomainDispatcherApplication`
asks `moto.backends.list_of_moto_modules()` on every request whether the host names a service,
and that generator lists moto's package directory and stats each of its ~150 entries each time —
about a twentieth of the tests' CPU and of the sandbox's. The directory does not change while
the process runs. Fix: list it once, in moto's own order.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from moto import backends

_LIST_OF_MOTO_MODULES = backends.list_of_moto_modules


@functools.cache
def _moto_modules() -> tuple[str, ...]:
    return tuple(_LIST_OF_MOTO_MODULES())


def _list_of_moto_modules() -> Iterable[str]:
    return _moto_modules()


PATCHES = {
    "list_of_moto_modules": (backends, "list_of_moto_modules", _list_of_moto_modules),
}
