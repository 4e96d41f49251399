"""The paper's training set-up: the `train:` section, read and linted. Pure; never imports TensorFlow.

A `train:` section holds what a paper says about optimisation, in the paper's words::

    train:
      optimizer sgd, momentum 0.9
      learning rate 1e-2, divided by 10 when the validation accuracy stopped improving
      weight decay 5e-4
      batch 256, epochs 74
      dropout 0.5
      init normal(0, 0.01)

Spelling is forgiving: any case, `-`, `_` or a space inside a name (`weight_decay`,
`mini-batch`), an optional `:` or `=` after it, and several settings on one line, separated by
commas or simply one after the other. Numbers: `0.01`, `1e-2`, `10^-2`, `10**-2`, `10⁻²`,
`1·10^-2`, `5×10⁻⁴`, and `50%` (= 0.5).

The settings
------------
- optimizer: `optimizer sgd`, `sgd with momentum 0.9`, `sgd with nesterov momentum 0.9`,
  `adam`, `rmsprop`, `adamw` (`optimizer` is optional). An unstated learning rate is Keras's
  default for the optimizer: 0.01 for SGD, 0.001 for the others.
- `learning rate 1e-2` (also `lr`, `base lr`, `initial learning rate`), `momentum 0.9`, `nesterov`.
- schedules, as papers state them, after the learning rate or on their own:
  `divided by 10 when the validation accuracy stopped improving` (plateau: factor 0.1, monitor
  `val_accuracy`; `error` also means accuracy, as error = 1 − accuracy; `loss` means the loss;
  `training` drops the `val_`; unstated: `val_loss`; `patience N`, default 5),
  `divided by 10 every 30 epochs` (step), `multiplied by 0.5 every 10 epochs`, `cosine`
  (per epoch, lr₀·½(1 + cos(π·e/E)) over the E epochs of the run), `schedule cosine`.
- `weight decay 5e-4` (also `wd`, `L2 5e-4`, `L2 penalty multiplier 5e-4`): an L2 penalty on
  every conv and FC kernel (see `papernet.backends.keras_args` for the factor convention);
  `weight decay 1e-4 decoupled` (or `decoupled weight decay 1e-4`, or `adamw`): the
  optimizer's own decoupled decay instead.
- `batch 256` (also `batch size`, `mini-batch`), `epochs 74` (also `74 epochs`).
- `dropout 0.5` (also `dropout 50%`, `dropout ratio 0.5`): a Dropout after every hidden FC layer
  that the table does not already follow with one.
- `init normal(0, 0.01)`: (mean, STANDARD DEVIATION), in numpy's order (`numpy.random.normal(loc,
  scale)`); `normal(0, variance 1e-2)` gives stddev 0.1; also `mean`/`std`/`stddev`/`sigma`
  labels, `gaussian`, `truncated normal(0, 0.01)`, `uniform(-0.05, 0.05)` or `uniform(0.05)`,
  `glorot`/`xavier` (uniform; `glorot normal`), `he`/`kaiming`/`msra` (normal; `he uniform`).
  Biases start at zero.
- `loss categorical crossentropy` (also `cross entropy`, `mse`, `mae`, `huber`, `binary
  crossentropy`, `sparse categorical crossentropy`); unstated: from the network's head.
- `metrics accuracy, top-5` (also `top-1`, `mae`, `mse`, `rmse`); unstated: from the head.

Diagnostics (P4xx)
------------------
Errors (the set-up cannot be read; a build stops):

- P401 unknown setting, with a did-you-mean.
- P402 bad value: a number is missing or is not a whole number where one is needed, or a name
  (optimizer, initializer, loss, metric) is unknown, or a schedule says neither when nor how.
- P403 unexpected words after a setting's value.

Warnings (lint; never block a build). A warned value is used as written, unless Keras would
reject it (momentum outside [0, 1], negative weight decay, a dropout rate outside [0, 1), a batch
below 1, negative epochs): then the set-up leaves it out and the warning says so.

- P410 `10e-2` where `1e-2` is probably meant: `10e-2` = 0.1, not 10⁻².
- P411 a learning rate outside (10⁻⁶, 1].
- P412 a weight decay outside [0, 0.1].
- P413 a momentum outside [0, 1).
- P414 a dropout of 1 or more written without `%` (`dropout 50`: `dropout 50%` or `dropout 0.5`).
- P415 any other dropout rate outside [0, 1).
- P416 a batch size below 1 or above 65,536.
- P417 epochs 0 or fewer.
- P418 momentum or nesterov with an optimizer that has none (Adam, AdamW; RMSprop has no nesterov).

>>> from papernet.span import Span
>>> setup, found = read_training([TrainLine("sgd with momentum 0.9, lr 10⁻², batch 256", Span("a.pn", 2, 3, 2, 40))])
>>> setup.optimizer, setup.momentum, setup.learning_rate, setup.batch_size, found
('sgd', 0.9, 0.01, 256, [])
>>> sorted(setup.stated)
['batch_size', 'learning_rate', 'momentum', 'optimizer']
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeAlias, cast

from papernet import diagnostics as diag
from papernet.diagnostics import Diagnostic
from papernet.ir import TrainLine
from papernet.span import Span

OptimizerName: TypeAlias = Literal["sgd", "adam", "rmsprop", "adamw"]
InitializerKind: TypeAlias = Literal[
    "normal", "truncated_normal", "uniform", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform"
]


@dataclass(frozen=True, slots=True)
class Initializer:
    """Kernel initialisation. `stddev` for the normal kinds; `limit` for uniform (−limit, limit)."""

    kind: InitializerKind
    mean: float = 0.0
    stddev: float | None = None
    limit: float | None = None


@dataclass(frozen=True, slots=True)
class Schedule:
    """A learning-rate schedule: `step` multiplies by `factor` every `every` epochs, `plateau` when
    `monitor` has not improved for `patience` epochs; `cosine` decays to 0 over the run."""

    kind: Literal["step", "plateau", "cosine"]
    factor: float = 0.1
    every: int | None = None  # epochs, for step
    patience: int = 5  # plateau
    monitor: str = "val_loss"


@dataclass(frozen=True, slots=True)
class TrainingSetup:
    """What the `train:` section says; unstated fields keep these defaults and stay out of `stated`."""

    optimizer: OptimizerName = "sgd"
    learning_rate: float = 0.01
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float | None = None
    decoupled: bool = False  # True: the optimizer's decoupled decay (AdamW, or `decoupled`); False: L2 on kernels
    schedule: Schedule | None = None
    batch_size: int | None = None
    epochs: int | None = None
    dropout: float | None = None  # rate for hidden FC layers
    init: Initializer | None = None  # kernels; biases are zero
    loss: str | None = None  # None: from the head (softmax → categorical crossentropy, else MSE)
    metrics: tuple[str, ...] = ()  # (): from the head (accuracy / mae)
    stated: frozenset[str] = frozenset()  # which fields the spec stated


def read_training(lines: Sequence[TrainLine]) -> tuple[TrainingSetup, list[Diagnostic]]:
    """The set-up the lines state, and what is wrong with them (errors and lint)."""
    reader = _Reader()
    for line in lines:
        reader.read_line(line)
    return reader.setup()


def scheduled_rate(schedule: Schedule, initial: float, epoch: int, epochs: int) -> float:
    """The learning rate of 0-based `epoch` of a run of `epochs` epochs, for step and cosine.

    >>> scheduled_rate(Schedule("step", 0.1, every=30), 0.1, 65, 90)  # two steps down
    0.0010000000000000002
    >>> scheduled_rate(Schedule("cosine"), 0.1, 0, 10), scheduled_rate(Schedule("cosine"), 0.1, 5, 10)
    (0.1, 0.05)
    """
    if schedule.kind == "step":
        assert schedule.every is not None
        return initial * schedule.factor ** (epoch // schedule.every)
    if schedule.kind == "cosine":
        return initial * (1 + math.cos(math.pi * epoch / epochs)) / 2
    raise ValueError("a plateau schedule depends on the monitored metric, not on the epoch")


# ---- words ------------------------------------------------------------------------------


def _compact(name: str) -> str:
    """A name as it is compared: no spaces or hyphens (`mini-batch`, `top-5`, `cross entropy`)."""
    return name.replace(" ", "").replace("-", "")


_LOWERED = frozenset(("divided", "divide", "decreased", "decrease", "reduced", "reduce", "lowered", "lower"))
_LOWERED |= {"dropped", "drop", "decayed", "decay", "cut"}
"""Words that lower the learning rate `by` a factor (`divided by 10`, `decreased by a factor of 10`)."""

_SETTINGS: dict[str, tuple[str, ...]] = {
    "optimizer": ("optimizer", "optimiser", "solver", "opt"),
    "learning_rate": ("learning rate", "lr", "base lr", "base learning rate", "initial learning rate", "initial lr"),
    "momentum": ("momentum",),
    "nesterov": ("nesterov",),
    "weight_decay": (
        "weight decay",
        "wd",
        "l2",
        "l2 penalty",
        "l2 penalty multiplier",
        "l2 regularization",
        "l2 regularisation",
    ),
    "decoupled_weight_decay": ("decoupled weight decay",),
    "batch_size": ("batch", "batch size", "mini batch", "mini batch size", "batchsize"),
    "epochs": ("epochs", "epoch"),
    "dropout": ("dropout", "dropout ratio", "dropout rate"),
    "init": (
        "init",
        "initialization",
        "initialisation",
        "initializer",
        "initialiser",
        "weight init",
        "weights init",
        "weight initialization",
        "weight initialisation",
        "kernel initializer",
    ),
    "loss": ("loss", "objective"),
    "metrics": ("metrics", "metric"),
    "schedule": (
        "schedule",
        "lr schedule",
        "learning rate schedule",
        "lr decay",
        "learning rate decay",
        "cosine",
        "multiplied",
        "multiply",
        *sorted(_LOWERED),
    ),
    "patience": ("patience",),
    "sgd": ("sgd", "stochastic gradient descent", "momentum sgd"),
    "adam": ("adam",),
    "adamw": ("adamw",),
    "rmsprop": ("rmsprop", "rms prop"),
}
"""Each setting's names, as words; matched ignoring case, spaces, `-` and `_`."""

_KEYS = {_compact(name): setting for setting, names in _SETTINGS.items() for name in names}
_DISPLAY = {_compact(name): name for names in _SETTINGS.values() for name in names}
_LONGEST_KEY = max(len(name.split()) for names in _SETTINGS.values() for name in names)

_OPTIMIZERS: dict[str, OptimizerName] = {"sgd": "sgd", "adam": "adam", "adamw": "adamw", "rmsprop": "rmsprop"}

_INITIALIZERS: dict[str, InitializerKind] = {
    "normal": "normal",
    "gaussian": "normal",
    "gauss": "normal",
    "random normal": "normal",
    "truncated normal": "truncated_normal",
    "truncated gaussian": "truncated_normal",
    "uniform": "uniform",
    "random uniform": "uniform",
    "glorot": "glorot_uniform",
    "xavier": "glorot_uniform",
    "glorot uniform": "glorot_uniform",
    "xavier uniform": "glorot_uniform",
    "glorot normal": "glorot_normal",
    "xavier normal": "glorot_normal",
    "he": "he_normal",
    "kaiming": "he_normal",
    "msra": "he_normal",
    "he normal": "he_normal",
    "kaiming normal": "he_normal",
    "he uniform": "he_uniform",
    "kaiming uniform": "he_uniform",
}

_LOSSES = {
    "categorical crossentropy": "categorical_crossentropy",
    "cross-entropy": "categorical_crossentropy",
    "softmax cross-entropy": "categorical_crossentropy",
    "multinomial logistic regression": "categorical_crossentropy",
    "log loss": "categorical_crossentropy",
    "sparse categorical crossentropy": "sparse_categorical_crossentropy",
    "binary crossentropy": "binary_crossentropy",
    "mse": "mse",
    "mean squared error": "mse",
    "squared error": "mse",
    "l2": "mse",
    "mae": "mae",
    "mean absolute error": "mae",
    "l1": "mae",
    "huber": "huber",
}
"""Loss names → Keras's names."""

_METRICS = {
    "accuracy": "accuracy",
    "acc": "accuracy",
    "top-1": "accuracy",
    "top-1 accuracy": "accuracy",
    "top-5": "top_k_categorical_accuracy",
    "top-5 accuracy": "top_k_categorical_accuracy",
    "mae": "mae",
    "mean absolute error": "mae",
    "mse": "mse",
    "mean squared error": "mse",
    "rmse": "root_mean_squared_error",
    "root mean squared error": "root_mean_squared_error",
}

_INIT_LABELS = {
    "mean": "mean",
    "mu": "mean",
    "μ": "mean",
    "std": "stddev",
    "stddev": "stddev",
    "sd": "stddev",
    "sigma": "stddev",
    "σ": "stddev",
    "standard deviation": "stddev",
    "deviation": "stddev",
    "variance": "variance",
    "var": "variance",
    "σ²": "variance",
    "limit": "limit",
}

_FILLERS = frozenset({"is", "was", "of", "to", "set", "initially", "starts", "started", "from", "at", "equal", "with"})
"""Words papers put between a setting and its value (`learning rate was initially set to 10⁻²`)."""

_LR_RANGE = (1e-6, 1.0)
_MAX_BATCH = 65_536
_EXAMPLES = {
    "learning_rate": "learning rate 1e-2",
    "momentum": "momentum 0.9",
    "weight_decay": "weight decay 5e-4",
    "batch_size": "batch 256",
    "epochs": "epochs 74",
    "dropout": "dropout 0.5",
    "patience": "patience 5",
}

# ---- tokens -----------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺−", "0123456789-+-")
_NUMBER = re.compile(
    r"""
    (?P<sign>[-+−])?
    (?P<mantissa>\d+(?:\.\d*)?|\.\d+)
    (?P<exponent>[eE][-+−]?\d+)?
    (?:
        \s*(?:\^|\*\*)\s*(?P<power>[-+−]?\d+)                          # 10^-2, 10**-2
      | (?P<superscript>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+)                            # 10⁻²
      | \s*[·⋅×xX*]\s*10(?:\s*(?:\^|\*\*)\s*(?P<times_power>[-+−]?\d+)  # 5·10^-4
                        |(?P<times_superscript>[⁻⁺]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))  # 5×10⁻⁴
      | \s*[·⋅×*]\s*(?P<factor>\d+(?:\.\d*)?)(?P<factor_exponent>[eE][-+−]?\d+)  # 5*10e-4, 5*1e-4
    )?
    (?P<percent>\s*%)?
    """,
    re.VERBOSE,
)
_WORD = re.compile(r"[^\W\d_][^\W_]*")
_PUNCTUATION = frozenset("(),;:=")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: Literal["word", "number", "punct", "other", "end"]
    text: str
    start: int  # 0-based offsets into the line's text
    end: int
    value: float = 0.0
    percent: bool = False
    exponent: int | None = None  # k when written 10e<k>: probably meant 1e<k>
    times: float | None = None  # m when written m*10e<k>: probably meant m·10^k

    @property
    def word(self) -> str:
        return self.text.casefold() if self.kind == "word" else ""

    @property
    def is_comma(self) -> bool:
        return self.kind == "punct" and self.text in ",;"


def _tokens(text: str) -> list[_Token]:
    """Words, numbers (with their values) and punctuation, with offsets.

    >>> [(t.kind, t.text, t.value) for t in _tokens("lr=10^-2, top-5")]  # doctest: +NORMALIZE_WHITESPACE
    [('word', 'lr', 0.0), ('punct', '=', 0.0), ('number', '10^-2', 0.01), ('punct', ',', 0.0),
     ('word', 'top', 0.0), ('number', '5', 5.0)]
    """
    found: list[_Token] = []
    position = 0
    while position < len(text):
        char = text[position]
        after_word = bool(found) and found[-1].kind == "word" and found[-1].end == position
        if char.isspace() or (char in "-_" and after_word):  # `mini-batch`, `weight_decay`, `top-5`
            position += 1
            continue
        number = _NUMBER.match(text, position)
        word = _WORD.match(text, position)
        if number and not (number.group("sign") and found and found[-1].kind == "number"):
            found.append(_number_token(number))
            position = number.end()
        elif word:
            found.append(_Token("word", word.group(), position, word.end()))
            position = word.end()
        else:
            kind: Literal["punct", "other"] = "punct" if char in _PUNCTUATION else "other"
            found.append(_Token(kind, char, position, position + 1))
            position += 1
    return found


def _number_token(match: re.Match[str]) -> _Token:
    """A number's value, computed in decimal so that `5·10^-4` is exactly the float 5e-4."""
    groups = {key: (value or "").translate(_SUPERSCRIPT) for key, value in match.groupdict().items()}
    mantissa = groups["mantissa"]
    try:
        value = Decimal(mantissa + groups["exponent"])
        if groups["power"] or groups["superscript"]:
            value = Decimal(mantissa) ** int(groups["power"] or groups["superscript"])
        elif groups["times_power"] or groups["times_superscript"]:
            value *= Decimal(10) ** int(groups["times_power"] or groups["times_superscript"])
        if groups["percent"]:
            value /= 100
    except (ArithmeticError, ValueError):  # beyond Decimal's exponent range: lint shows it
        value = Decimal("Infinity")
    if groups["sign"] == "-":
        value = -value
    ten_e = mantissa == "10" and groups["exponent"] and not groups["power"] and not groups["times_power"]
    exponent = int(groups["exponent"][1:]) if ten_e and not groups["superscript"] else None
    times = None
    if groups["factor"]:  # a product a tutorial copies: 5*10e-4
        value *= Decimal(groups["factor"] + groups["factor_exponent"])
        if groups["factor"] == "10" and exponent is None:
            exponent = int(groups["factor_exponent"].replace("−", "-")[1:])
            times = float(Decimal(mantissa + groups["exponent"]))
    text = match.group()
    return _Token(
        "number",
        text,
        match.start(),
        match.end(),
        float(value),
        bool(groups["percent"]),
        exponent=exponent,
        times=times,
    )


_KERAS_REGULARIZER = re.compile(
    r"\b(?:kernel|bias)_regularizer\s*=\s*(?:(?:tf\.)?keras\.)?(?:regularizers\.)?(?=[lL]2\s*\()"
)
_KERAS_OPTIMIZER = re.compile(r"(?:(?:tf\.)?keras\.)?(?:optimizers\.)?(?=(?:SGD|Adam|AdamW|RMSprop)\s*\()")


def _keras_calls(text: str) -> str:
    """The Keras calls a tutorial copies, as the settings they mean, offsets kept (so spans
    still point into the line): `kernel_regularizer=l2(5e-4)` reads as `l2 5e-4`, and
    `SGD(learning_rate=0.1, momentum=0.9)` as `SGD,learning_rate=0.1, momentum=0.9`.

    >>> _keras_calls("kernel_regularizer=l2(5*10e-4)")
    '                   l2 5*10e-4 '
    >>> _keras_calls("keras.optimizers.SGD(learning_rate=10e-2, momentum=0.9)")
    '                 SGD,learning_rate=10e-2, momentum=0.9 '
    """
    chars = list(text)
    for pattern, opening in ((_KERAS_REGULARIZER, " "), (_KERAS_OPTIMIZER, ",")):
        for match in pattern.finditer(text):
            chars[match.start() : match.end()] = " " * (match.end() - match.start())
            open_at = text.index("(", match.end())
            close_at = text.find(")", open_at)
            chars[open_at] = opening
            if close_at != -1:
                chars[close_at] = " "
    return "".join(chars)


def _is_whole(token: _Token) -> bool:
    return math.isfinite(token.value) and token.value == int(token.value) and not token.percent


def _joined(tokens: Sequence[_Token]) -> str:
    """Words (and numbers, as in `top-5`) run together: how names are compared."""
    return "".join(t.word if t.kind == "word" else t.text for t in tokens)


def _superscript(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))


def _did_you_mean(text: str, names: Sequence[str]) -> tuple[str, ...]:
    by_key = {_compact(n): n for n in names}
    close = difflib.get_close_matches(_compact(text), list(by_key), n=1, cutoff=0.6)
    return tuple(f"did you mean `{by_key[c]}`?" for c in close)


# ---- reading ----------------------------------------------------------------------------


@dataclass
class _Reader:
    """Reads a section's lines into `values` (TrainingSetup's fields) and `found` (diagnostics).

    A setting's name selects a method: `_read_<setting>(position)` reads its value from the
    token after the name and returns where it stopped; optimizer names and schedule words have
    their own readers, as the name is part of what they say.
    """

    values: dict[str, object] = field(default_factory=dict)
    spans: dict[str, Span] = field(default_factory=dict)
    found: list[Diagnostic] = field(default_factory=list)
    line: TrainLine | None = None
    tokens: list[_Token] = field(default_factory=list)

    # -- driving --

    def read_line(self, line: TrainLine) -> None:
        """Settings one after another, separated by commas or by nothing."""
        self.line, self.tokens = line, _tokens(_keras_calls(line.text))
        for token in self.tokens:
            if token.kind == "number" and not math.isfinite(token.value):
                self.found.append(
                    diag.error(
                        "P402",
                        f"`{token.text}` is too large: it is infinite as a float",
                        self._token_span(token),
                        "a float holds at most about 1.8e308; check the exponent",
                    )
                )
        position, previous = 0, ""
        while position < len(self.tokens):
            if self.tokens[position].is_comma:
                position += 1
                continue
            start = position
            position, setting = self._setting(position, previous)
            if position == start:  # nothing read: skip to the next comma
                position = self._next_comma(position)
            previous = setting

    def _setting(self, position: int, previous: str) -> tuple[int, str]:
        """Read one setting at `position`; returns where it ends and which it was."""
        start = position
        while position < len(self.tokens) and self.tokens[position].word in ("and", "then"):
            position += 1
        if position >= len(self.tokens):
            return position, ""
        setting, after = self._key(position)
        if setting is None:
            if previous == "metrics" and self._after_comma(start):
                return self._metrics(position), "metrics"
            self._unknown(position)
            return self._next_comma(position), ""
        if setting == "schedule":
            position = self._read_schedule(position, after)
        elif setting in _OPTIMIZERS:
            position = self._optimizer(setting, position, after)
        else:
            position = getattr(self, f"_read_{setting}")(after)
        return self._rest(position), setting

    def _rest(self, position: int) -> int:
        """After a setting: a comma, the end, another setting (read on), or unexpected words (P403)."""
        if position >= len(self.tokens) or self.tokens[position].is_comma:
            return position
        setting, _ = self._key(position)
        if setting is not None:
            return position
        end = self._next_comma(position)
        unexpected = self._line_text(position, end)
        self.found.append(
            diag.error(
                "P403",
                f"unexpected `{unexpected}` after `{self._line_text(self._clause_start(position), position)}`",
                self._span(position, end),
                "separate settings with commas, e.g. `sgd, momentum 0.9, nesterov`",
            )
        )
        return end

    def _key(self, position: int) -> tuple[str | None, int]:
        """The setting named by the words at `position` (the longest name that matches)."""
        words: list[_Token] = []
        for token in self.tokens[position : position + _LONGEST_KEY]:
            if token.kind != "word":
                break
            words.append(token)
        for count in range(len(words), 0, -1):
            setting = _KEYS.get(_joined(words[:count]))
            if setting is not None:
                return setting, position + count
        if self._token(position).kind == "number" and self._token(position + 1).word in ("epochs", "epoch"):
            return "epochs_after", position
        return None, position

    def _unknown(self, position: int) -> None:
        token = self._token(position)
        if token.kind != "word":
            what = "a setting's name" if token.kind == "number" else "a setting"
            self.found.append(
                diag.error(
                    "P401",
                    f"expected a training setting, found `{token.text}`",
                    self._span(position, position + 1),
                    f"write {what} first, e.g. `learning rate 1e-2`",
                )
            )
            return
        words = [t for t in self.tokens[position : position + 3] if t.kind == "word"]
        names = sorted(_DISPLAY.values())
        candidates = [_joined(words[:count]) for count in range(len(words), 0, -1)]
        help = next((h for c in candidates if (h := _did_you_mean(c, names))), ())
        self.found.append(
            diag.error(
                "P401",
                f"unknown training setting `{token.text}`",
                self._span(position, position + 1),
                *(
                    help
                    or ("settings: optimizer, learning rate, momentum, weight decay, batch, epochs, dropout, init",)
                ),
            )
        )

    # -- settings --

    def _optimizer(self, name: str, key: int, position: int) -> int:
        """`sgd [with] [nesterov] [momentum 0.9]`, and the same after `optimizer`."""
        self._set("optimizer", _OPTIMIZERS[name], self._span(key, position))
        while position < len(self.tokens):
            word = self.tokens[position].word
            if word in ("with", "and"):
                position += 1
            elif word == "nesterov":
                position = self._read_nesterov(position + 1)
            elif word == "momentum":
                position = self._read_momentum(position + 1)
            else:
                break
        return position

    def _read_optimizer(self, position: int) -> int:
        position = self._skip_fillers(position)
        setting, after = self._key(position)
        if setting in _OPTIMIZERS:
            return self._optimizer(setting, position, after)
        end = self._next_comma(position)
        written = self._line_text(position, end) or "nothing"
        self.found.append(
            diag.error(
                "P402",
                f"unknown optimizer `{written}`",
                self._span(position, max(end, position + 1)),
                *(
                    _did_you_mean(_joined(self.tokens[position:end]), list(_OPTIMIZERS))
                    or ("optimizers: sgd, adam, rmsprop, adamw",)
                ),
            )
        )
        return end

    def _read_learning_rate(self, position: int) -> int:
        token, position = self._number(position, "learning_rate")
        if token is not None:
            low, high = _LR_RANGE
            if not low < token.value <= high:
                self._warn(
                    "P411",
                    f"learning rate `{token.text}` = {token.value:g} is outside (10⁻⁶, 1]",
                    token,
                    "papers train with 10⁻⁴ to 10⁻¹; check the exponent",
                )
            self._set("learning_rate", token.value, self._token_span(token))
        return position

    def _read_momentum(self, position: int) -> int:
        token, position = self._number(position, "momentum")
        if token is not None:
            usable = 0 <= token.value <= 1
            if not 0 <= token.value < 1:
                help = "the fraction of the last update kept each step, usually 0.9"
                self._warn(
                    "P413",
                    f"momentum `{token.text}` = {token.value:g} is outside [0, 1)",
                    token,
                    help if usable else f"{help}; Keras takes [0, 1], so the set-up leaves it out",
                )
            if usable:
                self._set("momentum", token.value, self._token_span(token))
        return position

    def _read_nesterov(self, position: int) -> int:
        self._set("nesterov", True, self._span(position - 1, position))
        if self._token(position).word == "momentum":
            return self._read_momentum(position + 1)
        return position

    def _read_weight_decay(self, position: int, decoupled: bool = False) -> int:
        token, position = self._number(position, "weight_decay")
        if self._token(position).word == "decoupled":
            decoupled, position = True, position + 1
        if token is None:
            return position
        if not 0 <= token.value <= 0.1:
            usable = token.value >= 0
            self._warn(
                "P412",
                f"weight decay `{token.text}` = {token.value:g} is outside [0, 0.1]",
                token,
                "papers use 10⁻⁵ to 10⁻³, e.g. 5e-4"
                + ("" if usable else "; a negative decay is no penalty, so the set-up leaves it out"),
            )
            if not usable:
                return position
        self._set("weight_decay", token.value, self._token_span(token))
        if decoupled:
            self._set("decoupled", True, self._token_span(token))
        return position

    def _read_decoupled_weight_decay(self, position: int) -> int:
        return self._read_weight_decay(position, decoupled=True)

    def _read_batch_size(self, position: int) -> int:
        value, token, position = self._whole(position, "batch_size")
        if value is None or token is None:
            return position
        if not 1 <= value <= _MAX_BATCH:
            usable = value >= 1
            self._warn(
                "P416",
                f"batch size `{token.text}` = {value:,} is {'above 65,536' if usable else 'not positive'}",
                token,
                "papers use 32 to 4096 examples per batch"
                + ("" if usable else "; the set-up leaves it out (Keras needs at least 1)"),
            )
            if not usable:
                return position
        self._set("batch_size", value, self._token_span(token))
        return position

    def _read_epochs(self, position: int) -> int:
        value, token, position = self._whole(position, "epochs")
        if value is None or token is None:
            return position
        if value <= 0:
            self._warn(
                "P417",
                f"epochs `{token.text}` = {value}: the network is not trained",
                token,
                "the paper's figure, e.g. `epochs 74`"
                + ("" if value == 0 else "; the set-up leaves a negative count out"),
            )
            if value < 0:
                return position
        self._set("epochs", value, self._token_span(token))
        return position

    def _read_epochs_after(self, position: int) -> int:
        """`74 epochs`."""
        self._read_epochs(position)
        return position + 2

    def _read_dropout(self, position: int) -> int:
        token, position = self._number(position, "dropout")
        if token is None:
            return position
        if token.value >= 1 and not token.percent:
            whole = f"{token.value:g}"
            self._warn(
                "P414",
                f"dropout `{token.text}` = {token.value:g} is not a rate in [0, 1)",
                token,
                f"write `dropout {whole}%` or `dropout {token.value / 100:g}`; the set-up leaves it out",
            )
        elif not 0 <= token.value < 1:
            self._warn(
                "P415",
                f"dropout `{token.text}` = {token.value:g} is outside [0, 1)",
                token,
                "a dropout rate is the fraction of units dropped, e.g. 0.5; the set-up leaves it out",
            )
        else:
            self._set("dropout", token.value, self._token_span(token))
        return position

    def _read_init(self, position: int) -> int:
        """`normal(0, 0.01)`, `normal(0, variance 1e-2)`, `gaussian with std 0.01`, `he`, …"""
        position = self._skip_fillers(position)
        start = position
        while self._token(position).kind == "word" and self._token(position).word not in (*_INIT_LABELS, "with"):
            position += 1
        name = _joined(self.tokens[start:position])
        kinds = {_compact(key): kind for key, kind in _INITIALIZERS.items()}
        if name not in kinds:
            self._bad_name("initializer", start, position, list(_INITIALIZERS), "normal(0, 0.01), he, glorot")
            return self._next_comma(position)
        kind = kinds[name]
        arguments, position = self._arguments(position)
        if arguments is None:
            return self._next_comma(position)
        initializer = self._initializer(kind, arguments, self._span(start, position))
        if initializer is not None:
            self._set("init", initializer, self._span(start, position))
        return position

    def _arguments(self, position: int) -> tuple[list[tuple[str, _Token]] | None, int]:
        """(label, number) pairs, `positional` where unlabelled, inside optional parentheses."""
        found: list[tuple[str, _Token]] = []
        bracketed = self._token(position).text == "("
        position += bracketed
        while position < len(self.tokens):
            token = self.tokens[position]
            if bracketed and token.text == ")":
                return found, position + 1
            if token.text in ",:=" or token.word in ("with", "and"):
                if token.is_comma and not bracketed:
                    break
                position += 1
                continue
            label, after = self._label(position)
            if label is None and token.kind != "number":
                break
            if label is not None and self._token(after).text in (":", "="):
                after += 1
            number = self._token(after)
            if number.kind != "number":
                self._value_error(after, "init", "a number after the label, e.g. `normal(0, std 0.01)`")
                return None, after
            found.append((label or "positional", number))
            position = after + 1
        if bracketed:
            self._value_error(position, "init", "a closing `)`")
            return None, position
        return found, position

    def _label(self, position: int) -> tuple[str | None, int]:
        for count in (2, 1):
            words = self.tokens[position : position + count]
            if len(words) == count and all(t.kind == "word" for t in words):
                labels = {_compact(key): value for key, value in _INIT_LABELS.items()}
                if _joined(words) in labels:
                    return labels[_joined(words)], position + count
        return None, position

    def _initializer(
        self, kind: InitializerKind, arguments: list[tuple[str, _Token]], span: Span
    ) -> Initializer | None:
        positional = [token.value for label, token in arguments if label == "positional"]
        labelled = {label: token.value for label, token in arguments if label != "positional"}
        if kind in ("normal", "truncated_normal"):
            names = ("mean", "stddev")
            values = dict(zip(names, positional, strict=False)) | labelled
            if "variance" in values:
                values["stddev"] = math.sqrt(values.pop("variance"))
            if len(positional) > 2 or "limit" in values or "stddev" not in values or values["stddev"] < 0:
                return self._init_error(span, "normal(mean, standard deviation), e.g. `normal(0, 0.01)`")
            return Initializer(kind, mean=values.get("mean", 0.0), stddev=values["stddev"])
        if kind == "uniform":
            if labelled.keys() - {"limit"} or not 1 <= len(positional) + len(labelled) <= 2:
                return self._init_error(span, "uniform(−limit, limit) or uniform(limit), e.g. `uniform(-0.05, 0.05)`")
            bounds = positional + list(labelled.values())
            if len(bounds) == 2 and bounds[0] != -bounds[1]:
                return self._init_error(span, "a range symmetric about 0, e.g. `uniform(-0.05, 0.05)`")
            return Initializer("uniform", limit=abs(bounds[-1]))
        if arguments:
            return self._init_error(span, f"no arguments: `{kind.split('_')[0]}` takes its scale from the layer's size")
        return Initializer(kind)

    def _init_error(self, span: Span, wanted: str) -> Initializer | None:
        self.found.append(
            diag.error("P402", f"cannot read the initializer `{self._text(span)}`", span, f"write {wanted}")
        )
        return None

    def _read_loss(self, position: int) -> int:
        position = self._skip_fillers(position)
        end = self._next_comma(position)
        words = self.tokens[position:end]
        name = _joined(words).removesuffix("loss") or _joined(words)
        losses = {_compact(key): value for key, value in _LOSSES.items()}
        if name in losses:
            self._set("loss", losses[name], self._span(position, end))
        else:
            self._bad_name("loss", position, end, list(_LOSSES), "categorical crossentropy, mse, mae")
        return end

    def _read_metrics(self, position: int) -> int:
        return self._metrics(self._skip_fillers(position))

    def _metrics(self, position: int) -> int:
        """Metric names, up to the next comma; a later comma-separated name continues the list."""
        metrics = {_compact(key): value for key, value in _METRICS.items()}
        found = list(cast(tuple[str, ...], self.values.get("metrics", ())))
        start, end = position, self._next_comma(position)
        while position < end:
            for count in range(min(4, end - position), 0, -1):
                name = _joined(self.tokens[position : position + count])
                if name in metrics:
                    found += [metrics[name]] if metrics[name] not in found else []
                    position += count
                    break
            else:
                self._bad_name("metric", position, end, list(_METRICS), "accuracy, top-5, mae")
                return end
            while position < end and self.tokens[position].word == "and":
                position += 1
        self._set("metrics", tuple(found), self._span(start, end))
        return end

    def _read_patience(self, position: int) -> int:
        value, token, position = self._whole(position, "patience")
        if value is not None and token is not None:
            self._set("patience", value, self._token_span(token))
        return position

    def _read_schedule(self, start: int, position: int) -> int:
        """A schedule in a paper's words, from its first word to the next comma: how much, and when."""
        end = self._next_comma(position)
        words = [t.word for t in self.tokens[start:end]]
        kind: Literal["step", "plateau", "cosine"] | None = None
        factor, every, patience = 0.1, None, None
        monitor, validation = "loss", "training" not in words and "train" not in words
        verb = ""
        for index, token in enumerate(self.tokens[start:end], start):
            word = token.word
            following = self._token(index + 1)
            if word in _LOWERED:
                verb = "divide"
            elif word in ("multiplied", "multiply", "times"):
                verb = "multiply"
            elif word in ("cosine", "cos"):
                kind = "cosine"
            elif word.startswith("plateau") or word in ("improving", "improve", "improves", "saturates", "stagnates"):
                kind = "plateau"
            elif word == "every" and following.kind == "number":
                kind, every = "step", self._schedule_whole(following)
            elif word == "step":
                kind = kind or "step"
            elif word in ("accuracy", "acc", "error", "err"):
                monitor = "accuracy"
            elif word == "loss":
                monitor = "loss"
            elif word == "patience" and following.kind == "number":
                patience = self._schedule_whole(following)
            elif token.kind == "number" and self._token(index - 1).word in ("by", "of"):
                if token.value <= 0:
                    return self._schedule_error(start, end, "a positive factor")
                factor = token.value if verb == "multiply" or token.value < 1 else 1 / token.value
        if kind is None:
            return self._schedule_error(
                start, end, "when: `every 30 epochs`, `when the validation accuracy stopped improving`, or `cosine`"
            )
        if kind != "cosine" and not 0 < factor < 1:
            return self._schedule_error(start, end, "a factor that lowers the rate, e.g. `divided by 10`")
        if kind == "step" and (every is None or every < 1):
            return self._schedule_error(start, end, "how often: `every 30 epochs`")
        schedule = Schedule(kind, factor, every, monitor=("val_" if validation else "") + monitor)
        if patience is not None:
            schedule = Schedule(kind, factor, every, patience, schedule.monitor)
        self._set("schedule", schedule, self._span(start, end))
        return end

    def _schedule_whole(self, token: _Token) -> int | None:
        return int(token.value) if _is_whole(token) else None

    def _schedule_error(self, start: int, end: int, wanted: str) -> int:
        self.found.append(
            diag.error(
                "P402",
                f"cannot read the learning-rate schedule `{self._line_text(start, end)}`",
                self._span(start, end),
                f"say {wanted}",
            )
        )
        return end

    # -- values --

    def _number(self, position: int, setting: str) -> tuple[_Token | None, int]:
        position = self._skip_fillers(position)
        token = self._token(position)
        if token.kind != "number":
            self._value_error(position, setting, "a number")
            return None, self._next_comma(position)
        if token.exponent is not None:
            k = token.exponent
            m = token.times
            meant = f"10{_superscript(k)}" if m is None else f"{m:g}·10{_superscript(k)}"
            value = float(Decimal(str(m or 1)) * Decimal(10) ** k)
            written = "1" if m is None else f"{m:g}"
            self._warn(
                "P410",
                f"`{token.text}` = {token.value:g}, ten times {meant}",
                token,
                f"write {written}e{k} for {meant} = {value:g}",
            )
        return token, position + 1

    def _whole(self, position: int, setting: str) -> tuple[int | None, _Token | None, int]:
        token, position = self._number(position, setting)
        if token is None:
            return None, None, position
        if not _is_whole(token):
            self._value_error(position - 1, setting, "a whole number")
            return None, None, position
        return int(token.value), token, position

    def _value_error(self, position: int, setting: str, wanted: str) -> None:
        token = self._token(position)
        name = setting.replace("_", " ")
        found = f"found `{token.text}`" if token.kind != "end" else "found nothing"
        example = _EXAMPLES.get(setting)
        self.found.append(
            diag.error(
                "P402",
                f"`{name}` needs {wanted}, {found}",
                self._span(position, position + 1) if token.kind != "end" else self._end_span(position),
                *((f"e.g. `{example}`",) if example else ()),
            )
        )

    def _bad_name(self, what: str, start: int, end: int, names: list[str], examples: str) -> None:
        written = self._line_text(start, end)
        self.found.append(
            diag.error(
                "P402",
                f"unknown {what} `{written}`" if written else f"`{what}` needs a name",
                self._span(start, end) if written else self._end_span(start),
                *(_did_you_mean(_joined(self.tokens[start:end]), names) or (f"e.g. {examples}",)),
            )
        )

    def _warn(self, code: str, message: str, token: _Token, help: str) -> None:
        self.found.append(diag.warning(code, message, self._token_span(token), help))

    def _set(self, name: str, value: object, span: Span) -> None:
        self.values[name] = value
        self.spans[name] = span

    # -- positions --

    def _token(self, position: int) -> _Token:
        if 0 <= position < len(self.tokens):
            return self.tokens[position]
        return _Token("other", "", 0, 0) if position < 0 else _Token("end", "", 0, 0)

    def _skip_fillers(self, position: int) -> int:
        while self._token(position).text in (":", "=") or self._token(position).word in _FILLERS:
            position += 1
        return position

    def _next_comma(self, position: int) -> int:
        depth = 0
        while position < len(self.tokens):
            token = self.tokens[position]
            depth += (token.text == "(") - (token.text == ")")
            if token.is_comma and depth <= 0:
                return position
            position += 1
        return position

    def _clause_start(self, position: int) -> int:
        while position > 0 and not self.tokens[position - 1].is_comma:
            position -= 1
        return position

    def _after_comma(self, position: int) -> bool:
        return position > 0 and self.tokens[position - 1].is_comma

    def _line_text(self, start: int, end: int) -> str:
        if start >= end or self.line is None:
            return ""
        return self.line.text[self.tokens[start].start : self.tokens[end - 1].end]

    def _span(self, start: int, end: int) -> Span:
        """The span of tokens start..end-1 in the spec."""
        first, last = self._token(start), self._token(max(start, end - 1))
        return self._columns(first.start, last.end)

    def _token_span(self, token: _Token) -> Span:
        return self._columns(token.start, token.end)

    def _end_span(self, position: int) -> Span:
        """Just after the token before `position`: where a missing value should be."""
        previous = self._token(position - 1)
        return self._columns(previous.end, previous.end + 1)

    def _columns(self, start: int, end: int) -> Span:
        assert self.line is not None
        at = self.line.span
        return Span(at.file, at.line, at.column + start, at.line, at.column + end)

    def _text(self, span: Span) -> str:
        assert self.line is not None
        offset = self.line.span.column
        return self.line.text[span.column - offset : span.end_column - offset]

    # -- the result --

    def setup(self) -> tuple[TrainingSetup, list[Diagnostic]]:
        values = dict(self.values)
        optimizer = cast(OptimizerName, values.get("optimizer", "sgd"))
        self._lint_optimizer(optimizer)
        patience = values.pop("patience", None)
        if patience is not None:
            schedule = values.get("schedule")
            if isinstance(schedule, Schedule) and schedule.kind == "plateau":
                values["schedule"] = Schedule(
                    schedule.kind, schedule.factor, schedule.every, int(cast(int, patience)), schedule.monitor
                )
            else:
                self.found.append(
                    diag.error(
                        "P402",
                        "`patience` applies to a plateau schedule, and none is stated",
                        self.spans["patience"],
                        "e.g. `divided by 10 when the validation accuracy stopped improving`",
                    )
                )
        if optimizer in ("adam", "adamw"):
            values.pop("momentum", None)
            values.pop("nesterov", None)
        if optimizer == "rmsprop":
            values.pop("nesterov", None)
        stated = frozenset(values)
        if "learning_rate" not in values:
            values["learning_rate"] = 0.01 if optimizer == "sgd" else 0.001
        if optimizer == "adamw":
            values["decoupled"] = True
        return TrainingSetup(**values, stated=stated), self.found  # type: ignore[arg-type]

    def _lint_optimizer(self, optimizer: OptimizerName) -> None:
        ignored = {"adam": ("momentum", "nesterov"), "adamw": ("momentum", "nesterov"), "rmsprop": ("nesterov",)}
        for setting in ignored.get(optimizer, ()):
            if setting in self.values:
                self.found.append(
                    diag.warning(
                        "P418",
                        f"{setting} has no effect with {optimizer}",
                        self.spans[setting],
                        "RMSprop takes momentum, but not nesterov's"
                        if optimizer == "rmsprop"
                        else "Adam keeps its own running average of gradients (beta_1 = 0.9); "
                        "momentum and nesterov are SGD's",
                    )
                )
