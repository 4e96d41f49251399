"""Where the grammar and the shipped specs live, in a checkout and in an installed wheel.

The wheel ships `grammars/` and `specs/` inside the package (`papernet/grammars`,
`papernet/specs`); a checkout or an editable install has them beside the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"papernet is installed without its {name}/ directory")


def grammar_path() -> Path:
    return data_dir("grammars") / "papernet.lark"


def shipped_specs() -> dict[str, Path]:
    """Shipped spec names (`vgg16`) and their files."""
    return {path.stem: path for path in sorted(data_dir("specs").glob("*.pn"))}
