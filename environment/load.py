"""Loading an environment config: the TOML file read (UTF-8, a byte order mark dropped) and
validated into a Config: every key checked (checks.py), unknown keys refused (a typo must not
silently fall back to a default), required keys present, then the cross-key rules (rules.py).
Every problem is one ConfigError naming the file and the dotted key (exit 2).

The format is TOML because Python reads it without a dependency and it allows comments; the
commented reference is `stackswap.example.toml`.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

from stackswap.environment.checks import CONVERTERS, SCHEMA
from stackswap.environment.config import (
    Config,
    Deploy,
    DeployRole,
    Health,
    Listener,
    Network,
    Service,
)
from stackswap.environment.errors import ConfigError
from stackswap.environment.rules import check_combinations, resolve

SECTIONS = {"network": Network, "listener": Listener, "service": Service, "health": Health,
            "deploy": Deploy, "deploy_role": DeployRole}


def _validate_section(path: str, section: str, raw: dict[str, Any]) -> dict[str, Any]:
    schema = SCHEMA[section]
    prefix = f"{section}." if section else ""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if section == "" and key in SECTIONS:
            continue
        if key not in schema:
            known = ", ".join(sorted(schema) + ([] if section else sorted(SECTIONS)))
            raise ConfigError(path, prefix + key, f"unknown key (known keys: {known})")
        problem = schema[key](value)
        if problem:
            raise ConfigError(path, prefix + key, problem)
        if prefix + key in CONVERTERS:
            values[key] = CONVERTERS[prefix + key](path, prefix + key, value)
            continue
        values[key] = tuple(value) if isinstance(value, list) else value
    return values


def _required(path: str, section: str, cls: type, values: dict[str, Any]) -> None:
    for field in fields(cls):
        has_default = field.default is not MISSING or field.default_factory is not MISSING
        if not has_default and field.name not in values:
            prefix = f"{section}." if section else ""
            raise ConfigError(path, prefix + field.name, "is required but missing")


def parse_config(raw: dict[str, Any], path: str = "<memory>") -> Config:
    """Validate a parsed TOML document into a Config, or raise ConfigError."""
    top = _validate_section(path, "", raw)
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        body = raw.get(section, {})
        if not isinstance(body, dict):
            raise ConfigError(path, section, f"must be a [{section}] table")
        values = _validate_section(path, section, body)
        _required(path, section, cls, values)
        sections[section] = cls(**values)
    _required(path, "", Config, top | sections)
    config = Config(**top, **sections, path=path)
    config = resolve(config, raw)
    check_combinations(config)
    return config


# A config is a few KB of TOML; a larger file is not one (a log, an image, a device).
MAX_CONFIG_BYTES = 1024 * 1024
# What a path that is not a regular file is, for the one line that says so.
_NOT_A_FILE = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a named pipe"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
               (stat.S_ISSOCK, "a socket"))


def read_config_file(path: str) -> bytes:
    """The bytes of the regular file at `path`, of at most MAX_CONFIG_BYTES. Checked before it
    is opened: a FIFO would block the read forever, a device never end."""
    if not path:
        raise ConfigError("--config", None, "an empty path: name the environment's config file")
    try:
        mode = os.stat(path).st_mode
        kind = next((what for test, what in _NOT_A_FILE if test(mode)), None)
        if kind or not stat.S_ISREG(mode):
            raise ConfigError(path, None, f"not a regular file ({kind or 'a special file'}): "
                              f"name the environment's TOML config file")
        with open(path, "rb") as file:
            data = file.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(path, None, "config file not found") from None
    except OSError as error:
        raise ConfigError(path, None, f"cannot read: {error.strerror}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(path, None, f"larger than {MAX_CONFIG_BYTES // 1024} KiB: not an "
                          f"environment config")
    return data


def load_config(path: str | Path) -> Config:
    """Read and validate the environment config at `path`."""
    path = str(Path(path)) if str(path) else ""
    data = read_config_file(path)
    try:
        # utf-8-sig: a byte order mark (what editors on Windows write) is read and dropped.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        hint = ("UTF-16? save it as UTF-8" if data[:2] in (b"\xff\xfe", b"\xfe\xff")
                else f"byte 0x{data[error.start]:02x} at offset {error.start}")
        raise ConfigError(path, None, f"not a UTF-8 text file ({hint})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, None, f"not valid TOML: {error}") from None
    return parse_config(raw, path)
