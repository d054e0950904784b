"""handlers.errors draws the error tree; the drawing is the tree the classes really form."""

from __future__ import annotations

import importlib
import pkgutil
import re

import bot
import handlers
import storage
from handlers import errors
from handlers.errors import TweetpayError


def _import_everything() -> None:
    for package in (bot, handlers, storage):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in module.name or ".emulator" in module.name:
                continue
            importlib.import_module(module.name)


def _real_tree() -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    todo = [TweetpayError]
    while todo:
        parent = todo.pop()
        for child in parent.__subclasses__():
            if child.__module__.split(".")[0] not in ("bot", "handlers", "storage", "config"):
                continue  # a test's own subclass
            pairs.add((parent.__name__, child.__name__))
            todo.append(child)
    return pairs


def _drawn_tree() -> set[tuple[str, str]]:
    doc = errors.__doc__ or ""
    lines = [line for line in doc.splitlines() if re.search(r"[├└]── \w+|^\s+TweetpayError", line)]
    stack: list[tuple[int, str]] = []
    pairs: set[tuple[str, str]] = set()
    for line in lines:
        match = re.search(r"(\w+)", line.split("── ")[-1]) if "── " in line else re.search(
            r"(\w+)", line)
        assert match is not None
        name = match.group(1)
        depth = line.find("── ") if "── " in line else -1
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            pairs.add((stack[-1][1], name))
        stack.append((depth, name))
    return pairs


def test_the_docstring_draws_every_error_class_where_it_really_is() -> None:
    _import_everything()
    assert _drawn_tree() == _real_tree()
