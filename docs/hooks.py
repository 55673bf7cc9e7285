"""MkDocs hooks that keep the reference pages tied to the code.

- ``<!-- cli-help: NAME -->`` becomes the help text of ``llm-replay NAME``, taken from the
  parser the command actually uses. The build fails when a command has no such marker on the
  page that holds them.
- ``<!-- api: MODULE NAME NAME... -->`` becomes a mkdocstrings block per public name, pointed
  at the module that defines it (wherever the package layout puts it), so the page names
  ``replay.use_cassette`` and the docs follow the code. The build fails when a name in
  ``MODULE.__all__`` is on no such marker of the page.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
import types
from typing import Any

from mkdocs.exceptions import PluginError

__all__ = ["on_page_markdown"]

# A marker is a line of its own, so a page can mention the syntax in running text.
_MARKER = re.compile(r"^<!--\s*cli-help:\s*([\w-]+)\s*-->$", re.MULTILINE)
_API = re.compile(r"^<!--\s*api:\s*([\w.]+)\s+([^>]*?)\s*-->$", re.MULTILINE)


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    from replay.cli import build_parser

    parser = build_parser()
    for action in parser._actions:  # argparse exposes subparsers only through its actions
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise PluginError("llm-replay's parser has no subcommands")


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    markdown = _api_blocks(markdown, page.file.src_path)
    if not _MARKER.search(markdown):
        return markdown
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; the page wants a fixed width
    commands = _subcommands()
    used = set(_MARKER.findall(markdown))
    unknown = used - commands.keys()
    if unknown:
        raise PluginError(f"{page.file.src_path}: no llm-replay command {sorted(unknown)}")
    missing = commands.keys() - used
    if missing:
        raise PluginError(f"{page.file.src_path}: commands without a cli-help marker: {sorted(missing)}")

    def help_block(match: re.Match[str]) -> str:
        text = commands[match.group(1)].format_help().rstrip()
        return f"```text\n$ llm-replay {match.group(1)} --help\n{text}\n```"

    return _MARKER.sub(help_block, markdown)


def _defining_path(module_name: str, name: str) -> str:
    """Where ``module_name.name`` is defined: ``replay.api.use_cassette`` for ``replay.use_cassette``."""
    obj = getattr(importlib.import_module(module_name), name)
    if isinstance(obj, (type, types.FunctionType)):
        return f"{obj.__module__}.{obj.__qualname__}"
    # A constant has no __module__: the deepest module that lists it in __all__ defines it.
    root = module_name.split(".")[0]
    owners = [
        m_name
        for m_name, module in list(sys.modules.items())
        if (m_name == root or m_name.startswith(root + "."))
        and name in getattr(module, "__all__", ())
        and getattr(module, name, None) is obj
    ]
    return f"{max(owners, key=lambda m: m.count('.'))}.{name}"


def _api_blocks(markdown: str, src_path: str) -> str:
    documented: dict[str, set[str]] = {}

    def blocks(match: re.Match[str]) -> str:
        module_name, names = match.group(1), match.group(2).split()
        module = importlib.import_module(module_name)
        public = set(getattr(module, "__all__", ()))
        for name in names:
            if name not in public:
                raise PluginError(f"{src_path}: {module_name}.{name} is not in {module_name}.__all__")
        documented.setdefault(module_name, set()).update(names)
        return "\n\n".join(f"::: {_defining_path(module_name, name)}" for name in names)

    out = _API.sub(blocks, markdown)
    for module_name, names in documented.items():
        module = importlib.import_module(module_name)
        public = {n for n in module.__all__ if not isinstance(getattr(module, n), types.ModuleType)}
        missing = sorted(public - names)
        if missing:
            raise PluginError(f"{src_path}: public names of {module_name} not documented: {missing}")
    return out
