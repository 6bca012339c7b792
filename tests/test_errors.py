"""Every error annotator raises survives a trip across a process boundary (issue 7.5)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from pathlib import Path

import annotator
from annotator.errors import (
    EXIT_USAGE,
    AmbiguousMediaError,
    AnnotatorError,
    FileError,
    WorkspaceError,
)


def _all_error_classes() -> list[type[AnnotatorError]]:
    for module in pkgutil.walk_packages(annotator.__path__, "annotator."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
    found: list[type[AnnotatorError]] = []
    todo: list[type[AnnotatorError]] = [AnnotatorError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found


def _example(cls: type[AnnotatorError]) -> AnnotatorError:
    """An instance built through the class's own ``__init__``: for each required argument a
    value of the annotated kind (a dict, a tuple, a path) or else a distinct string."""
    values: list[object] = []
    for p in inspect.signature(cls.__init__).parameters.values():
        if p.name == "self" or p.default is not inspect.Parameter.empty:
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        kind = str(p.annotation)
        if kind.startswith("dict"):
            values.append({"pid": 4242, "host": "evidence-box", "started": "2026-12-02"})
        elif kind.startswith("tuple"):
            values.append((f"{p.name} one", f"{p.name} two"))
        elif kind.startswith("Path"):
            values.append(Path(f"/data/{p.name}"))
        else:
            values.append(f"{p.name}-value")
    return cls(*values)


def test_every_error_class_pickles_with_its_attributes() -> None:
    classes = _all_error_classes()
    assert {"WorkspaceError", "PlayerError", "AmbiguousMediaError"} <= {c.__name__ for c in classes}
    for cls in classes:
        error = _example(cls)
        error.__cause__ = None
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls
        assert copy.args == error.args and str(copy) == str(error), cls
        assert copy.__dict__ == error.__dict__, cls
        assert copy.exit_code == error.exit_code


def test_attributes_keep_their_types() -> None:
    error = WorkspaceError(Path("/data/w.db"), "disk full")
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, FileError) and copy.path == Path("/data/w.db") and copy.db == copy.path
    ambiguous = AmbiguousMediaError("demo.mp4", "file name", ("id 1: a", "id 2: b"))
    again = pickle.loads(pickle.dumps(ambiguous))
    assert again.candidates == ("id 1: a", "id 2: b") and again.exit_code == EXIT_USAGE
