"""The pre-built parser (papernet.parser_cache): built once, kept safely, the same parser.

Each test points XDG_CACHE_HOME at its own temporary directory, so nothing is shared with the
user's cache or with other tests.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest

from papernet import parser_cache
from papernet.parse import _Builder, _SpecIndenter
from papernet.resources import grammar_path, shipped_specs

OPTIONS: dict[str, Any] = {"parser": "lalr", "lexer": "contextual", "maybe_placeholders": False}


@pytest.fixture
def cache_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "papernet"


def build(grammar: str | None = None) -> Any:
    text = grammar if grammar is not None else grammar_path().read_text(encoding="utf-8")
    builder = _Builder()
    return parser_cache.cached_lark(text, transformer=builder, postlex=_SpecIndenter(), **OPTIONS), builder


def parse_all(parser: Any, builder: Any) -> list[object]:
    """Every shipped spec and a few broken ones, parsed (the syntax tree, or the error's type)."""
    texts = [path.read_text(encoding="utf-8") for path in shipped_specs().values()]
    texts += ["input 8x8x1\nconv3-2 padding sideways\n", "conv3-64 ->\n", "input 8x8\n  conv3\n"]
    out: list[object] = []
    for text in texts:
        builder.file = "spec.pn"
        try:
            out.append(parser.parse(text + "\n"))
        except Exception as exc:  # the error is what is compared
            out.append((type(exc).__name__, str(exc)))
    return out


def test_first_use_writes_one_file_whole_in_a_private_directory(cache_home: Path) -> None:
    build()
    files = list(cache_home.iterdir())
    assert len(files) == 1 and files[0].name.startswith("parser-") and files[0].suffix == ".pickle", files
    assert stat.S_IMODE(cache_home.stat().st_mode) == 0o700


def test_later_use_loads_the_same_parser_without_building_it(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh, fresh_builder = build()
    expected = parse_all(fresh, fresh_builder)

    def no_building(*args: object, **kwargs: object) -> None:
        raise AssertionError("built the parser although the cache has it")

    monkeypatch.setattr(parser_cache, "build_lark", no_building)
    cached, cached_builder = build()
    assert cached is not fresh
    assert parse_all(cached, cached_builder) == expected


def test_a_corrupt_cache_file_is_rebuilt(cache_home: Path) -> None:
    build()
    (path,) = cache_home.iterdir()
    path.write_bytes(b"not a pickle")
    parser, builder = build()
    assert parse_all(parser, builder)[0].__class__.__name__ == "Spec"
    assert path.read_bytes() != b"not a pickle"


def test_a_directory_others_can_write_is_never_read(cache_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache_home.mkdir(parents=True)
    cache_home.chmod(0o777)
    assert parser_cache.cache_directory() is None
    built: list[object] = []
    real = parser_cache.build_lark

    def counting(*args: Any) -> Any:
        built.append(1)
        return real(*args)

    monkeypatch.setattr(parser_cache, "build_lark", counting)
    build()
    build()
    assert len(built) == 2 and list(cache_home.iterdir()) == []


def test_a_changed_grammar_gets_its_own_file(cache_home: Path) -> None:
    text = grammar_path().read_text(encoding="utf-8")
    build(text)
    build(text + "\n// changed\n")
    assert len(list(cache_home.iterdir())) == 2


def test_parsers_of_grammars_unused_for_a_month_are_removed(cache_home: Path) -> None:
    import os
    import time

    cache_home.mkdir(parents=True)
    stale, recent = cache_home / "parser-old.pickle", cache_home / "parser-recent.pickle"
    for path, age_days in ((stale, 31), (recent, 29)):
        path.write_bytes(b"x")
        then = time.time() - age_days * 86_400
        os.utime(path, (then, then))
    build()
    names = {p.name for p in cache_home.iterdir()}
    assert "parser-old.pickle" not in names and "parser-recent.pickle" in names and len(names) == 2


def test_loaded_scanners_are_prebuilt_and_compile_as_re_does(cache_home: Path) -> None:
    import re

    build()
    loaded, _builder = build()  # from the file
    contextual = loaded.parser.lexer.lexer
    lexers = {id(lexer): lexer for lexer in [*contextual.lexers.values(), contextual.root_lexer]}
    patterns = []
    for lexer in lexers.values():
        assert lexer._scanner is not None  # pickled built, not compiled again at first use
        patterns += lexer._scanner._mres
    assert len(patterns) > 100
    for pattern in patterns:
        again = re.compile(pattern.pattern, pattern.flags)
        assert pattern == again and pattern.groupindex == again.groupindex  # `==` compares the compiled code


def _define(source: str) -> Any:
    namespace: dict[str, Any] = {}
    with parser_cache.compiled_dataclasses():
        exec(source, namespace)
    return namespace["Point"]


POINT = (
    "from dataclasses import dataclass\n@dataclass(frozen=True, slots=True)\nclass Point:\n    x: int\n    y: int = 2\n"
)


def test_dataclass_methods_are_compiled_once_and_kept(cache_home: Path) -> None:
    import dataclasses

    first = _define(POINT)
    kept = parser_cache.compiled_dataclasses_file()
    assert kept is not None and kept.is_file()
    assert "exec" not in vars(dataclasses)  # the builtin again outside the context
    written = kept.read_bytes()
    second = _define(POINT)  # from the file: nothing new, nothing written
    assert kept.read_bytes() == written
    for point in (first, second):
        assert repr(point(1)) == "Point(x=1, y=2)" and point(1) == point(1, 2) and hash(point(1)) == hash(point(1, 2))
        with pytest.raises(dataclasses.FrozenInstanceError):
            point(1).x = 3  # type: ignore[misc]


def test_a_corrupt_dataclass_file_is_compiled_afresh(cache_home: Path) -> None:
    _define(POINT)
    kept = parser_cache.compiled_dataclasses_file()
    assert kept is not None
    kept.write_bytes(b"\x00not marshal")
    point = _define(POINT)
    assert point(3) == point(3, 2)
