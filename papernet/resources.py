"""Where the grammar and the shipped specs live, in a checkout and in an installed wheel.

The wheel ships `grammars/` and `specs/` inside the package (`papernet/grammars`,
`papernet/specs`); a checkout or an editable install has them beside the package. A shipped
spec is known by its name (`vgg16`), which is also how diagnostics and generated code cite it:
a path such as `specs/vgg16.pn` would not exist outside the checkout.
"""

from __future__ import annotations

import difflib
import re
from functools import cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"papernet is installed without its {name}/ directory")


def grammar_path() -> Path:
    return data_dir("grammars") / "papernet.lark"


@cache
def shipped_specs() -> dict[str, Path]:
    """Shipped spec names (`vgg16`) and their files."""
    return {path.stem: path for path in sorted(data_dir("specs").glob("*.pn"))}


def shipped_spec(name: str) -> tuple[str, Path] | None:
    """A shipped spec by name, in any case and with or without `.pn`: (its name, its file).

    >>> [found[0] if (found := shipped_spec(n)) else None for n in ("vgg16", "VGG16", "vgg16.pn", "vgg-16")]
    ['vgg16', 'vgg16', 'vgg16', None]
    """
    wanted = name.removesuffix(".pn").lower()
    for shipped, path in shipped_specs().items():
        if shipped.lower() == wanted:
            return shipped, path
    return None


def shipped_name_like(name: str) -> str | None:
    """The shipped spec a misspelt name most likely means, for a did-you-mean.

    >>> shipped_name_like("vgg-16"), shipped_name_like("resnet-50.pn"), shipped_name_like("googlnet")
    ('vgg16', 'resnet50', 'googlenet')
    >>> shipped_name_like("transformer") is None
    True
    """
    names = list(shipped_specs())
    wanted = name.removesuffix(".pn").lower()
    by_letters = {_letters(n): n for n in names}
    if _letters(wanted) in by_letters:
        return by_letters[_letters(wanted)]
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.75)
    return close[0] if close else None


def is_shipped(path: Path) -> bool:
    return path.parent.resolve() == data_dir("specs").resolve() and path.stem in shipped_specs()


def _letters(name: str) -> str:
    """A name without case or separators: `VGG-16`, `vgg_16` and `vgg16` are the same."""
    return re.sub(r"[\W_]+", "", name.lower())
