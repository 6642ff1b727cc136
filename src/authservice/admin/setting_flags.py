"""The flags of `python -m authservice serve`, one per setting, made from the settings' own
definitions (core/settings.py): `session_ttl_s` is `--session-ttl-s`, of its type, with its help
and its default. A tuple setting takes a comma-separated list, and its flag may be repeated."""

from __future__ import annotations

import argparse
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import MISSING, Field
from pathlib import Path
from typing import Any

from authservice.core.settings import Settings, setting_fields

__all__ = ["add_setting_flags", "flag_name", "given_settings"]

# How a flag's text becomes the setting's value, and what its help calls it, by the setting's type.
_PARSERS: dict[Any, Callable[[str], Any]] = {int: int, float: float, Path: Path, str: str}
_METAVARS = {int: "N", float: "N", Path: "PATH", str: "TEXT"}


def flag_name(setting: str) -> str:
    return "--" + setting.replace("_", "-")


def add_setting_flags(parser: argparse.ArgumentParser, only: Iterable[str] | None = None) -> None:
    """A flag for every setting (or for those named in `only`). A flag not given stays out of the
    parsed arguments, so that its setting keeps its default (see `given_settings`)."""
    wanted = None if only is None else set(only)
    hints = typing.get_type_hints(Settings)
    for item in setting_fields():
        if wanted is not None and item.name not in wanted:
            continue
        kind = hints[item.name]
        options: dict[str, Any] = {"dest": item.name, "default": argparse.SUPPRESS}
        if typing.get_origin(kind) is tuple:
            options |= {"type": _comma_list, "action": "extend", "metavar": "LIST"}
            options["help"] = _help(item, "comma-separated; the flag may be repeated")
        else:
            kind = _optional_of(kind)
            if kind not in _PARSERS:
                raise TypeError(f"a setting of type {kind!r} cannot be a flag")
            options |= {"type": _PARSERS[kind], "metavar": _METAVARS[kind], "help": _help(item)}
        parser.add_argument(flag_name(item.name), **options)


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings given as flags, by name, as Settings(...) takes them."""
    names = {item.name for item in setting_fields()}
    return {name: value for name, value in vars(args).items() if name in names}


def _optional_of(kind: Any) -> Any:
    """X for `X | None` (as a flag: X, or not given), else the type itself."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        (kind,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    return kind


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _help(item: Field[Any], how: str | None = None) -> str:
    shown = item.metadata["shown_default"] or _shown_default(item)
    return f"{item.metadata['help']}{f' ({how})' if how else ''}; default: {shown}"


def _shown_default(item: Field[Any]) -> str:
    value = item.default
    if value is MISSING:
        raise TypeError(f"Settings.{item.name} computes its default: give it a shown_default")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
