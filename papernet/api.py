"""The Python API and the pipeline in one place.

    text ──parse──▶ syntax tree ──lower──▶ IR ──adapt──▶ IR ──infer──▶ annotations ──check──▶ diagnostics
                                                                        ├──▶ report
                                                                        ├──▶ keras.Model   (papernet.backends.live)
                                                                        └──▶ Python source (papernet.backends.source)

>>> import papernet
>>> net = papernet.parse("input 32x32x3\\nconv3-16 padding same, maxpool, FC-10, softmax")
>>> [d.code for d in net.check()]
[]
>>> net.summary().total_params  # conv 3·3·3·16 + 16, then FC 16·16·16·10 + 10
41418
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from papernet import adapt as adapt_stage
from papernet import diagnostics as diag
from papernet import resources
from papernet.adapt import HeadKind
from papernet.check import Reconciliation, reconcile
from papernet.diagnostics import Diagnostic, Diagnostics, SpecError
from papernet.files import TooLarge, read_bounded
from papernet.infer import Convention, Inference, dims, infer
from papernet.ir import Graph, Input
from papernet.lower import lower
from papernet.parse import ParseFailure, decode, parse_recovering
from papernet.solve import solve
from papernet.span import Span, command_line_span
from papernet.syntax import Spec

if TYPE_CHECKING:
    import keras

    from papernet.against import Comparison
    from papernet.report import Report
    from papernet.training import TrainingSetup


class SpecNotFound(Exception):
    """A spec path or shipped spec name that does not exist: a usage error, not a spec error."""


@dataclass(frozen=True, repr=False)
class Network:
    """A lowered network, its lowering diagnostics and the source texts they point into.

    `repr(net)` is one line; `str(net)` (and `print(net)`) is the table `papernet summary`
    prints; a notebook shows the HTML report.
    """

    graph: Graph
    diagnostics: tuple[Diagnostic, ...]
    sources: dict[str, str]
    file: str
    _inferences: dict[str, Inference] = field(default_factory=dict, compare=False, repr=False)
    _reconciliations: dict[str, Reconciliation] = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.graph.name

    def infer(self, convention: Convention = "keras") -> Inference:
        if convention not in self._inferences:
            self._inferences[convention] = infer(self.graph, convention)
        return self._inferences[convention]

    def check(self, convention: Convention = "keras") -> Diagnostics:
        """Every problem: lowering, shapes and claims, in source order. A list, which prints as
        `papernet check` prints it (`print(net.check())`)."""
        with _without_cycle_collection():
            inference = self.infer(convention)
            reconciliation = self.reconcile(convention)
        restated = set(reconciliation.superseded)
        found = [
            *self.diagnostics,
            *(d for d in inference.diagnostics if d not in restated),
            *reconciliation.diagnostics,
        ]
        if self.graph.train:
            from papernet.training import read_training

            found += read_training(self.graph.train)[1]
        # Notes about the whole spec come last, and only for a spec that lowered cleanly.
        closing = () if any(d.is_error for d in self.diagnostics) else reconciliation.closing
        return Diagnostics([*sorted(found, key=_source_order), *closing], self.sources)

    def reconcile(self, convention: Convention = "keras") -> Reconciliation:
        """The table's claims, one row each: declared, inferred, and whether they agree."""
        if convention not in self._reconciliations:
            self._reconciliations[convention] = reconcile(self.graph, self.infer(convention))
        return self._reconciliations[convention]

    def training(self) -> TrainingSetup:
        """The paper's training set-up, from the `train:` section (defaults where it is silent)."""
        from papernet.training import read_training

        return read_training(self.graph.train)[0]

    def errors(self, convention: Convention = "keras") -> list[Diagnostic]:
        return [d for d in self.check(convention) if d.is_error]

    def summary(self, convention: Convention = "keras", depth: int | None = None) -> Report:
        """Per-layer figures; with `depth`, blocks below that level collapse into one row each."""
        from papernet.report import build_report

        return build_report(self.graph, self.infer(convention), depth)

    def diagram(
        self, depth: int | None = None, format: Literal["svg", "dot"] = "svg", convention: Convention = "keras"
    ) -> str:
        """The network drawn as SVG (or Graphviz DOT text), one box per layer; with `depth`, blocks
        below that level are one box each, with their totals."""
        from papernet.diagram import draw

        return draw(self.graph, self.infer(convention), depth, format)

    def adapt(
        self,
        *,
        input: tuple[int, ...] | None = None,
        classes: int | None = None,
        regression: tuple[int, ...] | None = None,
        spans: dict[str, Span] | None = None,
        head: HeadKind = "dense",
    ) -> Network:
        """The same network with a new input shape and/or a new head.

        The paper's claims describe the paper's network, so an adapted network drops them.
        `spans` says where each adaptation was written (a spec line); by default, the command line.
        `head="conv"` makes a regression head of convolutions instead of an FC (`papernet.adapt`).
        """
        where = spans or {}
        graph, found = adapt_stage.without_claims(self.graph), list(self.diagnostics)
        if input is not None:
            graph, problems = adapt_stage.with_input(graph, input, where.get("input", command_line_span()))
            found += problems
        head_span = where.get("head", command_line_span())
        if classes is not None and regression is not None:
            found.append(diag.error("P113", "choose one head: classes or regression, not both", head_span))
        elif classes is not None:
            graph, problems = adapt_stage.with_classes(graph, classes, head_span)
            found += problems
        elif regression is not None:
            graph, problems = adapt_stage.with_regression(graph, regression, head_span, head)
            found += problems
        return Network(graph, tuple(found), self.sources, self.file)

    def __repr__(self) -> str:
        inference = self.infer()
        count = len(self.graph.nodes)
        first = self.graph.nodes[0] if self.graph.nodes else None
        shape = f", input {dims(first.shape)}" if isinstance(first, Input) else ""
        return (
            f"<Network {self.name!r} from {self.file}: {count} layer{'s' if count != 1 else ''}{shape}, "
            f"{inference.total_params:,} parameters, {self.check().summary()}>"
        )

    def __str__(self) -> str:
        return str(self.summary())

    def _repr_html_(self) -> str:
        return self.summary()._repr_html_()

    def raise_for_errors(self) -> None:
        """Raise if the network cannot be built. A claim that the table gets wrong (P3xx) is
        reported by `check` but does not stop a build: the architecture is still well defined."""
        errors = [d for d in self.errors() if not d.code.startswith("P3")]
        if errors:
            raise SpecError(errors, self.sources)

    def to_keras(self) -> keras.Model:
        """A live, functional-API `keras.Model` (imports Keras; `KerasNotInstalled` without it)."""
        self.raise_for_errors()
        from papernet.backends.keras_import import import_keras

        import_keras("Network.to_keras()")
        from papernet.backends.live import build_model

        return build_model(self.graph, self.infer(), self.training())

    def against(self, model: str | keras.Model, convention: Convention = "keras") -> Comparison:
        """This spec against an implementation: a `keras.Model`, or a saved `model.keras`,
        `keras:ResNet50` or `file.py:build_fn` (imports TensorFlow). The first divergence comes
        as a diagnostic at the spec's line, with the per-stage figures of both. Raises `SpecError`
        if the spec cannot be built, `keras_import.ModelNotFound` for a MODEL that names no model
        and `keras_import.ImportFailure` for a layer papernet's notation has no word for."""
        self.raise_for_errors()
        from papernet.against import Side, compare
        from papernet.keras_import import model_network

        theirs, where, name = model_network(model)
        ours = Side(self.graph, self.infer(convention), {})
        return compare(ours, Side(theirs.graph, theirs.infer(convention), where), name)

    def to_source(self) -> str:
        """Python source that builds the same model with Keras 3."""
        self.raise_for_errors()
        from papernet.backends.source import generate

        return generate(self.graph, self.infer(), self.sources, self.training())


def _source_order(d: Diagnostic) -> tuple[str, int, int]:
    if d.span is None:
        return ("", 0, 0)
    return (d.span.file, d.span.line, d.span.column)


# ---- loading ----------------------------------------------------------------------


def parse(text: str, file: str = "<string>") -> Network:
    """A network from spec text. Raises `SpecError` for syntax errors."""
    return _build(text, file, Path.cwd(), ())


def load(spec: str | Path) -> Network:
    """A network from a spec file, or from a shipped spec by name (`"vgg16"`)."""
    path, display = resolve(str(spec))
    return _build(read_spec(path, display), display, path.parent, (path.resolve(),))


def resolve(spec: str, relative_to: Path | None = None) -> tuple[Path, str]:
    """A spec argument → (path, the name diagnostics show for it): a file's path as given, or a
    shipped spec's name (`vgg16`, in any case), never a path that exists only in a checkout.
    With `relative_to` (a `from` line), the file beside the spec comes first."""
    candidates = [Path(spec)] if relative_to is None else [relative_to / spec, relative_to / f"{spec}.pn"]
    for candidate in candidates:
        if candidate.is_dir():
            raise SpecNotFound(f"'{spec}' is a directory, not a spec file")
        if candidate.is_file():
            if relative_to is not None and resources.is_shipped(candidate):
                return candidate, candidate.stem
            return candidate, str(candidate)
    found = resources.shipped_spec(spec)
    if found is not None:
        name, path = found
        return path, name
    guess = resources.shipped_name_like(spec)
    if guess is not None:
        raise SpecNotFound(f"no spec file '{spec}' and no shipped spec of that name; did you mean '{guess}'?")
    known = ", ".join(resources.shipped_specs())
    raise SpecNotFound(f"no spec file '{spec}' and no shipped spec of that name (shipped: {known})")


def read_spec(path: Path, display: str) -> str:
    try:
        data = read_bounded(path)
    except TooLarge as large:
        span = Span(display, 1, 1, 1, 1)
        help = "the largest shipped spec is under 4 kB: is this the spec file?"
        raise SpecError([diag.error("P104", large.describe(), span, help)], {}) from None
    except OSError as exc:
        raise SpecNotFound(f"cannot read '{display}': {exc.strerror or exc}") from None
    try:
        return decode(data, display)
    except ParseFailure as failure:
        raise SpecError(failure.diagnostics, {display: data.decode("utf-8", errors="replace")}) from None


def _build(text: str, file: str, directory: Path, loading: tuple[Path, ...]) -> Network:
    with _without_cycle_collection():
        try:
            spec = parse_recovering(text, file)
        except ParseFailure as failure:
            raise SpecError(failure.diagnostics, {file: text}) from None
        name = spec.title or _stem(file)
        if spec.base is not None and spec.problems:
            raise SpecError(spec.problems, {file: text})
        if spec.base is None:
            graph, found = lower(spec, name)
            if spec.regression is not None and spec.regression_head == "conv":  # lowering made the dense head
                graph, problems = adapt_stage.with_regression(graph, *spec.regression, "conv")
                found = [*found, *problems]
            graph, inferred = solve(graph)
            if spec.problems:  # a missing input is most likely the input line that did not parse
                found = [d for d in found if d.code != "P101"]
            return Network(graph, (*spec.problems, *found, *inferred), {file: text}, file)
        return _derive(spec, text, name, directory, loading)


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Parsing and lowering make many small acyclic objects (tokens, frozen nodes), which
    reference counting frees; the cyclic collector would only walk them, a quarter of the
    time of a 10,000-layer spec (bench/bench.py). At the end they are moved, unscanned, to the
    oldest generation (freeze, then unfreeze: two list splices), or the first allocation after
    would scan them all as young objects; cyclic garbage among them waits for a full collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()


def _derive(spec: Spec, text: str, name: str, directory: Path, loading: tuple[Path, ...]) -> Network:
    """A spec that starts `from` another: the base network, adapted by this spec's lines."""
    assert spec.base is not None
    base_name, base_span = spec.base
    sources = {spec.file: text}
    problems = _derived_spec_problems(spec)
    if problems:
        raise SpecError(problems, sources)
    try:
        path, display = resolve(base_name, directory)
    except SpecNotFound as exc:
        raise SpecError([diag.error("P114", str(exc), base_span)], sources) from None
    shipped = resources.is_shipped(path)
    if path.suffix != ".pn" and not shipped:
        message = f"'{base_name}' is not a spec: a spec starts from a shipped spec or a .pn file"
        raise SpecError([diag.error("P114", message, base_span)], sources)
    if not shipped:  # a file beside this spec: show it beside this spec's name
        display = str(Path(spec.file).parent / path.name)
    if path.resolve() in loading:
        chain = " → ".join([*(p.name for p in loading), path.name])
        raise SpecError([diag.error("P115", f"specs start from each other in a cycle: {chain}", base_span)], sources)
    base = _build(read_spec(path, display), display, path.parent, (*loading, path.resolve()))
    input_shape = _input_shape(spec)
    network = Network(base.graph, base.diagnostics, {**base.sources, **sources}, spec.file)
    spans = {
        "input": input_shape[1] if input_shape else base_span,
        "head": (spec.regression or spec.classes or (None, base_span))[1],
    }
    network = network.adapt(
        input=input_shape[0] if input_shape else None,
        classes=spec.classes[0] if spec.classes else None,
        regression=spec.regression[0] if spec.regression else None,
        spans=spans,
        head="conv" if spec.regression_head == "conv" else "dense",
    )
    graph = network.graph
    renamed = replace(graph, name=name if spec.title else base.graph.name, train=(*base.graph.train, *spec.train))
    return Network(renamed, network.diagnostics, network.sources, spec.file)


def _derived_spec_problems(spec: Spec) -> list[Diagnostic]:
    problems = []
    for chain in spec.chains:
        for item in chain:
            element = item.element
            if getattr(element, "kind", None) != "input":
                problems.append(
                    diag.error(
                        "P110",
                        "a spec that starts `from` another changes its input and head; it cannot add layers",
                        item.span,
                        "use `input H×W×C`, `classes N` or `regression H×W×C`",
                    )
                )
    if spec.defaults:
        problems.append(
            diag.error("P110", "`defaults:` cannot change a network that is already built", spec.defaults[0].span)
        )
    return problems


def _input_shape(spec: Spec) -> tuple[tuple[int, ...], Span] | None:
    for chain in spec.chains:
        for item in chain:
            element = item.element
            if getattr(element, "kind", None) == "input":
                options = {o.key: o.value for o in getattr(element, "options", ())}
                if "shape" in options:
                    shape = options["shape"]
                    assert isinstance(shape, tuple)
                    if "channels" in options and len(shape) == 2:
                        shape = (*shape, options["channels"])
                    return shape, item.span
    return None


def _stem(file: str) -> str:
    stem = Path(file).stem if not file.startswith("<") else "network"
    return re.sub(r"\W+", "_", stem) or "network"


ConventionName = Literal["keras", "torch"]
