"""The Lark parser, built once per grammar and kept, so a command starts in milliseconds.

Building the LALR tables from the grammar takes a few hundred milliseconds, and even Lark's own
cache (`cache=True`) spends more time rebuilding its objects from their serialized form than
papernet spends on a whole check. So the built `Lark` object itself is pickled, the first time a
grammar is used, into papernet's cache directory (`$XDG_CACHE_HOME/papernet`, by default
`~/.cache/papernet`), and later processes unpickle it. What cannot be pickled is left out and
made again at load: the transformer (a fresh instance of the caller's), the callbacks Lark makes
from it, modules.

Safe: the directory is the user's own (created 0700; one that others can write to is never
read, since unpickling runs code); the file is written whole or not at all (papernet.files);
its name is a hash of everything the tables depend on (grammar text, options, the post-lexer's
terminals, Lark's and Python's versions), so a changed grammar never meets stale tables. Any
problem with the cache (unwritable, corrupt, from another Lark) falls back to building the parser
the ordinary way; the cache only ever saves time.

Lark's own cache is not used: it writes to the shared temporary directory under a predictable
name, where another user could leave a file for it to unpickle.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import hashlib
import importlib
import io
import os
import pickle
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lark import Lark, Transformer
from lark.parsers.lalr_analysis import Reduce, Shift

_FORMAT = 4  # bump when what is pickled changes
_NOT_KEPT = ("grammar", "source_grammar", "_parse_tree_builder")  # made again, or not needed, to parse
# Objects the parser compares by identity (`action is Shift`): pickled by name, never copied.
_SINGLETONS: dict[str, object] = {"Shift": Shift, "Reduce": Reduce}


def cached_lark(grammar: str, transformer: Transformer[Any, Any], **options: Any) -> Lark:
    """`Lark(grammar, transformer=transformer, **options)` (LALR), from the cache when it can be."""
    path = cache_file(grammar, transformer, options)
    if path is not None:
        loaded = _load(path, transformer)
        if loaded is not None:
            return loaded
    parser = build_lark(grammar, transformer, options)
    if path is not None:
        _store(path, parser, transformer)
    return parser


def build_lark(grammar: str, transformer: Transformer[Any, Any], options: dict[str, Any]) -> Lark:
    """The parser built from the grammar, the slow way."""
    return Lark(grammar, transformer=transformer, **options)


def cache_directory() -> Path | None:
    """papernet's cache directory, created if need be; None if there is none safe to use."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base) / "papernet"
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        status = directory.stat()
    except OSError:
        return None
    owned = not hasattr(os, "getuid") or status.st_uid == os.getuid()
    return directory if owned and not status.st_mode & 0o022 else None


def cache_file(grammar: str, transformer: object, options: dict[str, Any]) -> Path | None:
    directory = cache_directory()
    if directory is None:
        return None
    import lark

    postlex = options.get("postlex")
    described = {key: _describe(value) for key, value in sorted(options.items())}
    key = repr(
        (
            _FORMAT,
            grammar,
            described,
            _describe(transformer),
            sorted(getattr(postlex, "always_accept", ())),
            lark.__version__,
            sys.version_info[:2],
        )
    )
    return directory / f"parser-{hashlib.sha256(key.encode()).hexdigest()[:32]}.pickle"


def _describe(value: object) -> str:
    """An option as it bears on the tables: objects by their class, not their address."""
    if isinstance(value, str | int | float | bool | type(None)):
        return repr(value)
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


class _Pickler(pickle.Pickler):
    def __init__(self, file: io.BytesIO, parser: Lark, transformer: object) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.parser, self.transformer = parser, transformer

    def persistent_id(self, obj: object) -> tuple[Any, ...] | None:
        if type(obj) is re.Pattern:
            return _compiled_parts(obj)  # None: pickled as usual (compiled again at load)
        if isinstance(obj, types.ModuleType):
            return ("module", obj.__name__)
        for name, singleton in _SINGLETONS.items():
            if obj is singleton:
                return ("singleton", name)
        if obj is self.transformer:
            return ("transformer",)
        if obj is self.parser._callbacks:
            return ("callbacks",)
        return None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedReader, transformer: object) -> None:
        super().__init__(file)
        self.transformer = transformer
        self.callbacks: dict[Any, Any] = {}

    def persistent_load(self, pid: tuple[Any, ...]) -> object:
        kind = pid[0]
        if kind == "re":
            return _from_compiled_parts(pid)
        if kind == "module":
            return importlib.import_module(pid[1])
        if kind == "singleton":
            return _SINGLETONS[pid[1]]
        if kind == "transformer":
            return self.transformer
        if kind == "callbacks":
            return self.callbacks
        raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")


def _store(path: Path, parser: Lark, transformer: object) -> None:
    from papernet.files import replace_atomically

    buffer = io.BytesIO()
    _build_scanners(parser)
    kept = copy.copy(parser)
    for only_for_building in _NOT_KEPT:  # a third of the file, and nothing parsing reads
        setattr(kept, only_for_building, None)
    try:
        _Pickler(buffer, parser, transformer).dump(kept)
        replace_atomically(path, lambda temporary: Path(temporary).write_bytes(buffer.getvalue()))
        _forget_old_parsers(path.parent)
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        pass  # no cache this time; the parser is built and works


def _build_scanners(parser: Lark) -> None:
    """Every lexer state's scanner, built now so that it is pickled: the contextual lexer builds
    each on first use, compiling one large regular expression per state, which is most of the
    time a first parse takes (22 of them for VGG-16)."""
    contextual = getattr(getattr(getattr(parser, "parser", None), "lexer", None), "lexer", None)
    lexers = [*getattr(contextual, "lexers", {}).values(), getattr(contextual, "root_lexer", None)]
    for lexer in {id(lexer): lexer for lexer in lexers if lexer is not None}.values():
        with contextlib.suppress(Exception):  # the lexer builds it at first use instead
            _ = lexer.scanner


def _compiled_parts(pattern: re.Pattern[Any]) -> tuple[Any, ...] | None:
    """A compiled pattern as the arguments `_sre.compile` takes (what `re.compile` computes in
    Python, slowly, from the pattern's text), checked to rebuild an equal pattern (`==` compares
    the compiled code); None where they do not (another Python's `re`)."""
    try:
        import _sre  # type: ignore[import-not-found]
        import array
        from re import _compiler, _parser  # type: ignore[attr-defined]

        parsed = _parser.parse(pattern.pattern, pattern.flags)
        code = _compiler._code(parsed, pattern.flags)
        groupindex = dict(parsed.state.groupdict)
        indexgroup = [None] * parsed.state.groups
        for name, index in groupindex.items():
            indexgroup[index] = name
        flags = pattern.flags | parsed.state.flags
        groups = parsed.state.groups - 1
        rebuilt = _sre.compile(pattern.pattern, flags, code, groups, groupindex, tuple(indexgroup))
        if rebuilt != pattern or rebuilt.groupindex != pattern.groupindex:
            return None
        packed = array.array("I", code)
        return ("re", pattern.pattern, flags, packed.typecode, packed.tobytes(), groups, groupindex, tuple(indexgroup))
    except Exception:
        return None


def _from_compiled_parts(parts: tuple[Any, ...]) -> re.Pattern[Any]:
    import _sre  # type: ignore[import-not-found,unused-ignore]
    import array

    _, text, flags, typecode, code, groups, groupindex, indexgroup = parts
    pattern: re.Pattern[Any] = _sre.compile(
        text, flags, array.array(typecode, code).tolist(), groups, groupindex, indexgroup
    )
    return pattern


def _forget_old_parsers(directory: Path, days: float = 30) -> None:
    """Parsers of grammars not built for a month (an old papernet's) are removed; one that is
    still in use is only rebuilt once."""
    import time

    too_old = time.time() - days * 86_400
    for stale in directory.glob("parser-*.pickle"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < too_old:
                stale.unlink()


def _load(path: Path, transformer: object) -> Lark | None:
    try:
        with path.open("rb") as file:
            unpickler = _Unpickler(file, transformer)
            parser = unpickler.load()
        if not isinstance(parser, Lark):
            return None
        # The callbacks are made from the transformer (closures, not picklable); the parser's
        # tables hold the one dict that they live in, which is filled in place.
        parser._prepare_callbacks()
        unpickler.callbacks.update(parser._callbacks)
        parser._callbacks = unpickler.callbacks
        return parser
    except FileNotFoundError:
        return None
    except Exception:  # a corrupt or foreign cache file: build the parser instead (and rewrite it)
        return None


# ---- dataclass methods, compiled once ---------------------------------------------------
#
# The `dataclasses` module writes each class's __init__, __repr__, __eq__, __hash__ and frozen
# __setattr__ as source text and compiles it: for papernet's 60 frozen classes that is two
# thirds of the time `import papernet` takes. The compiled code objects are kept (marshal) in
# the same directory as the parser, keyed by the very source text they were compiled from, so a
# later process execs the same code without compiling it. Only while papernet's modules are
# imported (`papernet/__init__.py`); the module's `exec` is the builtin again afterwards.

_CODES_KEPT = 4000  # more than this many (an old papernet's too): start afresh


def compiled_dataclasses_file() -> Path | None:
    directory = cache_directory()
    if directory is None:
        return None
    tag = hashlib.sha256(f"{sys.version}|{sys.implementation.cache_tag}".encode()).hexdigest()[:16]
    return directory / f"dataclasses-{tag}.marshal"


@contextlib.contextmanager
def compiled_dataclasses() -> Iterator[None]:
    """While in this context, dataclasses compiles each generated method's source once per machine."""
    import dataclasses
    import marshal

    if "exec" in vars(dataclasses):  # nested, or another library does this too: leave it be
        yield
        return
    path = compiled_dataclasses_file()
    known = _load_codes(path)
    new: dict[str, types.CodeType] = {}

    def compiling_once(source: object, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = known.get(source)
            if code is None:
                code = new[source] = compile(source, "<string>", "exec")
            source = code
        builtins.exec(source, globals, locals)  # type: ignore[arg-type]

    dataclasses.exec = compiling_once  # type: ignore[attr-defined]
    try:
        yield
    finally:
        del dataclasses.exec  # type: ignore[attr-defined]
        if new and path is not None:
            kept = {**known, **new} if len(known) + len(new) <= _CODES_KEPT else new
            with contextlib.suppress(OSError, ValueError):
                from papernet.files import replace_atomically

                data = marshal.dumps(kept)
                replace_atomically(path, lambda temporary: Path(temporary).write_bytes(data))


def _load_codes(path: Path | None) -> dict[str, types.CodeType]:
    import marshal

    if path is None:
        return {}
    try:
        codes = marshal.loads(path.read_bytes())
    except (OSError, EOFError, ValueError, TypeError):
        return {}
    if not isinstance(codes, dict):
        return {}
    return {text: code for text, code in codes.items() if isinstance(text, str) and isinstance(code, types.CodeType)}
