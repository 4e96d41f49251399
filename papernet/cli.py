"""The command line: `papernet check|summary|diagram|compile|build|train|import-table|import-keras|specs`.

Exit codes, the same for every command: 0 no errors (warnings and notes may be printed), 1 an
error was printed (syntax, meaning, shape, or, for `check` and `summary`, a claim the
architecture contradicts), 2 usage error (bad option, missing file, unwritable output). A claim
that the table gets wrong (P3xx) leaves the architecture well defined: `compile`, `build` and
`train` print it as a warning and do their job. Diagnostics go to stderr; a user never sees a
traceback.

Output files (`-o FILE`): written if and only if the command exits 0, whole or not at all
(`papernet.files`); on any other exit the file is left as it was. A special file (`/dev/null`,
a FIFO) is written into, never replaced.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

from papernet import __version__
from papernet.api import Network, SpecNotFound, load
from papernet.diagnostics import Diagnostic, KerasNotInstalled, SpecError, UsageError, fold_repeats, printable, render
from papernet.files import TooLarge, is_special, name_problem, read_bounded, replace_atomically, write_atomically

if TYPE_CHECKING:
    from papernet.tables import TableFormat

EXIT_OK, EXIT_SPEC_ERRORS, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
MODEL_HELP = "a saved model.keras, keras:Name (a keras.applications model, no weights) or file.py:function"
DEFAULT_EPOCHS, DEFAULT_BATCH_SIZE = 10, 32  # `papernet train`, where neither the option nor the spec says


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        _unknown_arguments(parser, args.command, unknown)
    try:
        result: int = args.run(args)
        return result
    except UsageError as exc:
        print(f"papernet: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SpecNotFound, KerasNotInstalled) as exc:
        print(f"papernet: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SpecError as exc:
        _print_diagnostics(exc.diagnostics, exc.sources, sys.stderr)
        _print_error_count(exc.diagnostics)
        return EXIT_SPEC_ERRORS
    except KeyboardInterrupt:
        print("papernet: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file the user named: unreadable, unwritable, the disk full
        where = f"'{printable(str(exc.filename))}': " if exc.filename is not None else ""
        print(f"papernet: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # pragma: no cover - a bug; say so instead of a traceback
        print(
            f"papernet: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in papernet; please report it with the spec that caused it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def entry_point() -> NoReturn:
    """The `papernet` console script and `python -m papernet`: `main`, then a quick exit."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """Exit with `code` once the output is flushed, without tearing the interpreter down.

    Freeing every module and object one by one takes a fifth or more of a cold `papernet check`
    (bench/bench.py), and the operating system reclaims them at once anyway. Only after
    TensorFlow or Keras loaded does the process exit the ordinary way: they register exit
    handlers (checkpoint and log writers) that must run.
    """
    if "tensorflow" in sys.modules or "keras" in sys.modules:
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass  # `papernet summary … | head`: the reader has what it wanted and left
    os._exit(code)


# ---- commands ---------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    from papernet import report

    output = _output(args, "")
    network = _load(args)
    if args.against:
        if args.format != "table":
            raise UsageError(f"--against prints a table of stages; --format {args.format} is for the reconciliation")
        return _check_against(args, network, output)
    found = network.check(args.convention)
    _print_diagnostics(found, network.sources, sys.stderr)
    errors = _print_error_count(found)
    reconciliation = network.reconcile(args.convention)
    if reconciliation.rows or args.format != "table":
        render = {
            "table": report.reconciliation_text,
            "json": report.reconciliation_json,
            "markdown": report.reconciliation_markdown,
        }[args.format]
        _emit(render(network.name, network.file, reconciliation), output, failed=bool(errors))
    if errors:
        return EXIT_SPEC_ERRORS
    if args.format == "table":
        inference = network.infer(args.convention)
        count = len(network.graph.nodes)
        print(
            f"{network.file}: ok: {count} layer{'s' if count != 1 else ''}, {inference.total_params:,} parameters, "
            f"{inference.total_macs:,} multiply-adds"
        )
    return EXIT_OK


def _check_against(args: argparse.Namespace, network: Network, output: Path | None) -> int:
    """`check SPEC --against MODEL`: the spec's own problems, then the model against it."""
    from papernet.keras_import import ImportFailure, ModelNotFound

    found = network.check(args.convention)
    _print_diagnostics(found, network.sources, sys.stderr)
    if any(d.is_error and not d.code.startswith("P3") for d in found):
        _print_error_count(found)
        return EXIT_SPEC_ERRORS
    _load_keras_quietly()
    try:
        comparison = network.against(args.against, args.convention)
    except ModelNotFound as exc:
        raise UsageError(str(exc)) from None
    except ImportFailure as exc:
        print(f"papernet: error: {exc}", file=sys.stderr)
        return EXIT_SPEC_ERRORS
    _print_diagnostics(comparison.diagnostics, network.sources, sys.stderr)
    _emit(comparison.table(), output)
    errors = [*(d for d in found if d.is_error), *(d for d in comparison.diagnostics if d.is_error)]
    _print_error_count(errors)
    return EXIT_SPEC_ERRORS if errors else EXIT_OK


def run_summary(args: argparse.Namespace) -> int:
    output = _output(args, "")
    network = _load(args)
    found = network.check(args.convention)
    _print_diagnostics(found, network.sources, sys.stderr)
    failed = any(d.is_error for d in found)
    report = network.summary(args.convention, args.depth)
    render: Callable[[], str] = {
        "table": lambda: report.to_text(width=_width(output)),
        "json": report.to_json,
        "markdown": report.to_markdown,
        "csv": report.to_csv,
        "html": report.to_html,
    }[args.format]
    _emit(render(), output, failed)
    return EXIT_SPEC_ERRORS if failed else EXIT_OK


def run_diagram(args: argparse.Namespace) -> int:
    output = _writable(args.output, "") if args.output else None
    network = _load(args)
    found = network.check(args.convention)
    _print_diagnostics(found, network.sources, sys.stderr)
    _emit(network.diagram(args.depth, args.format, args.convention), output)
    # as for compile: a claim the table gets wrong (P3xx) leaves the network, and its drawing, well defined
    return EXIT_SPEC_ERRORS if any(d.is_error and not d.code.startswith("P3") for d in found) else EXIT_OK


def run_compile(args: argparse.Namespace) -> int:
    output = _output(args, ".py")
    network = _load(args)
    _report_and_stop_on_errors(network)
    _emit(network.to_source(), output)
    return EXIT_OK


def run_build(args: argparse.Namespace) -> int:
    output = _output(args, ".keras")
    assert output is not None  # -o is required
    network = _load(args)
    _report_and_stop_on_errors(network)
    from papernet.backends.keras_import import import_keras

    import_keras("papernet build", quiet=True)
    model = network.to_keras()
    replace_atomically(output, model.save)
    print(f"{output}: {model.count_params():,} parameters", file=sys.stderr)
    return EXIT_OK


def run_train(args: argparse.Namespace) -> int:
    from papernet.train import run

    network = _load(args)
    _report_and_stop_on_errors(network)
    from papernet.backends.keras_import import import_keras

    import_keras("papernet train", quiet=True)
    return run(network, args)


def run_import_table(args: argparse.Namespace) -> int:
    from papernet.tables import import_table_with_warnings

    output = _output(args, ".pn")
    _check_name(args.table, "table file")
    path = Path(args.table)
    if not path.is_file():
        raise UsageError(f"no such table file: '{args.table}'")
    try:
        text = read_bounded(path).decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")  # as read_text
    except TooLarge as large:
        from papernet.diagnostics import error
        from papernet.span import Span

        raise SpecError(
            [error("P104", large.describe(), Span(str(path), 1, 1, 1, 1), "is this the table file?")], {}
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read '{args.table}': {exc}") from None
    table_format: TableFormat | None = args.table_format or _table_format(path)
    spec, warnings = import_table_with_warnings(
        text,
        str(path),
        table_format=table_format,
        columns=dict(args.column or ()),
        input_shape=args.input,
        title=args.name,
    )
    _print_diagnostics(warnings, {str(path): text}, sys.stderr)
    _emit(spec, output)
    return EXIT_OK


def _load_keras_quietly() -> None:
    """Keras loaded before a model is read, without TensorFlow's start-up lines; where Keras is
    missing, the model reader says so in its own words."""
    from papernet.backends.keras_import import import_keras
    from papernet.diagnostics import KerasNotInstalled

    with contextlib.suppress(KerasNotInstalled):
        import_keras("reading a Keras model", quiet=True)


def run_import_keras(args: argparse.Namespace) -> int:
    from papernet.keras_import import ImportFailure, ModelNotFound, import_keras

    output = _writable(args.output, ".pn") if args.output else None
    _load_keras_quietly()
    try:
        imported = import_keras(args.model)
    except ModelNotFound as exc:
        raise UsageError(str(exc)) from None
    except ImportFailure as exc:
        print(f"papernet: error: {exc}", file=sys.stderr)
        return EXIT_SPEC_ERRORS
    for note in imported.notes:
        print(f"papernet: note: the model has {note}", file=sys.stderr)
    _emit(imported.text, output)
    return EXIT_OK


def _table_format(path: Path) -> TableFormat | None:
    return {".md": "markdown", ".markdown": "markdown", ".csv": "csv"}.get(path.suffix.lower())  # type: ignore[return-value]


def run_specs(args: argparse.Namespace) -> int:
    from papernet.resources import shipped_specs

    for name, path in shipped_specs().items():
        title = next(
            (
                line.split(None, 1)[1].strip().strip("\"'")
                for line in path.read_text(encoding="utf-8").splitlines()
                if line.lower().startswith("network ")
            ),
            name,
        )
        print(f"{name:<20} {title}")
    return EXIT_OK


# ---- helpers ----------------------------------------------------------------------


def _load(args: argparse.Namespace) -> Network:
    _check_name(args.spec, "spec")
    network = load(args.spec)
    if args.head == "conv" and not args.regression:
        raise UsageError("--head conv shapes a regression head: give --regression HxWxC with it")
    if args.input or args.classes or args.regression:
        network = network.adapt(input=args.input, classes=args.classes, regression=args.regression, head=args.head)
    return network


def _report_and_stop_on_errors(network: Network) -> None:
    """Stop on errors that leave the network undefined. A claim that the table gets wrong
    (P3xx) does not: the network is still well defined, so it is shown as a warning (the
    command exits 0 and writes its output; `papernet check` reports it as an error)."""
    found = network.check()
    if any(d.is_error and not d.code.startswith("P3") for d in found):
        raise SpecError(found, network.sources)
    _print_diagnostics([_as_warning(d) if d.is_error else d for d in found], network.sources, sys.stderr)


def _as_warning(claim: Diagnostic) -> Diagnostic:
    from dataclasses import replace

    from papernet.diagnostics import Severity

    note = "a claim of the table, not a fault of the network: it is built as written (`papernet check` fails on it)"
    return replace(claim, severity=Severity.WARNING, notes=(*claim.notes, note))


def _print_diagnostics(found: Sequence[Diagnostic], sources: dict[str, str], stream: TextIO) -> None:
    for diagnostic in fold_repeats(found):
        print(render(diagnostic, sources), file=stream, end="\n\n")


def _print_error_count(found: Sequence[Diagnostic]) -> int:
    errors = [d for d in found if d.is_error]
    if errors:
        where = printable(errors[0].span.file) + ": " if errors[0].span is not None else ""
        print(f"{where}{len(errors)} error{'s' if len(errors) != 1 else ''}", file=sys.stderr)
    return len(errors)


def _emit(text: str, output: Path | None, failed: bool = False) -> None:
    """To standard output, or to the `-o` file, which is written only by a command that exits 0:
    a failed command leaves it as it was (a build system must not take it for up to date)."""
    if output is None:
        sys.stdout.write(text)
    elif failed:
        print(f"papernet: {printable(str(output))} not written: the spec has errors", file=sys.stderr)
    else:
        write_atomically(output, text)


def _output(args: argparse.Namespace, suffix: str) -> Path | None:
    """The `-o` file, checked before any work; None without `-o` (`-o ''` is a usage error)."""
    return _writable(args.output, suffix) if args.output is not None else None


def _check_name(name: str, what: str) -> None:
    problem = name_problem(name)
    if problem is not None:
        shown = printable(name if len(name) <= 60 else name[:40] + "…" + name[-12:])
        raise UsageError(f"cannot use the {what} '{shown}': {problem}")


def _writable(name: str, suffix: str) -> Path:
    if not name.strip():
        raise UsageError("the output file name is empty")
    _check_name(name, "output file")
    path = Path(name)
    if suffix == ".keras" and path.suffix != ".keras" and not is_special(path):
        raise UsageError(f"'{name}': a Keras model file must end in .keras")
    if path.is_dir():
        raise UsageError(f"'{name}' is a directory; give a file name")
    if is_special(path):  # written into, so only the file itself must be writable
        if not os.access(path, os.W_OK):
            raise UsageError(f"cannot write '{name}': permission denied")
        return path
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"cannot write '{name}': directory '{parent}' does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"cannot write '{name}': permission denied")
    return path


def _width(output: Path | None) -> int | None:
    """The columns a table may take: `COLUMNS` if set, else the terminal's; no limit for a file
    or a pipe (nothing reads it on a screen of known width)."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if output is None and sys.stdout.isatty():
        try:
            return os.get_terminal_size(sys.stdout.fileno()).columns
        except OSError:
            return None
    return None


def shape_argument(text: str) -> tuple[int, ...]:
    """`224x224x3` (or ×, X) → (224, 224, 3); argparse turns a ValueError into exit 2."""
    if not re.fullmatch(r"\d+(?:[x×X]\d+){0,2}", text.strip()):
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape such as 224x224x3")
    dims = tuple(int(part) for part in re.split(r"[x×X]", text.strip()))
    if any(not 1 <= d <= 1_000_000 for d in dims):
        raise argparse.ArgumentTypeError(f"'{text}': every size must be from 1 to 1,000,000")
    return dims


def input_shape_argument(text: str) -> tuple[int, ...]:
    """An input shape: H×W×C, or N for a flat vector. H×W alone is refused: it has two readings."""
    dims = shape_argument(text)
    if len(dims) == 2:
        height, width = dims
        raise argparse.ArgumentTypeError(
            f"'{text}' gives no channel count: write {height}x{width}x1 for a gray image "
            f"or {height}x{width}x3 for an RGB one"
        )
    return dims


def column_argument(text: str) -> tuple[str, str]:
    """`output=output size` → ("output", "output size")."""
    role, equals, header = text.partition("=")
    if not equals or not role.strip() or not header.strip():
        raise argparse.ArgumentTypeError(f"'{text}' is not ROLE=HEADER, e.g. output='output size'")
    return role.strip().lower(), header.strip()


def positive_int(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 1_000_000:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number from 1 to 1,000,000")
    return int(text)


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    """`papernet train`'s own options; papernet.train reads them."""
    data = parser.add_argument_group("data (give --data or --synthetic)")
    source = data.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", nargs=2, metavar=("X.npy", "Y.npy"), help="inputs and targets, one sample per row")
    source.add_argument("--synthetic", type=_count, metavar="N", help="N random samples of the network's shapes")
    validation = data.add_mutually_exclusive_group()
    validation.add_argument("--val", nargs=2, metavar=("X.npy", "Y.npy"), help="validation inputs and targets")
    validation.add_argument(
        "--val-split", type=_fraction, metavar="F", help="hold out this fraction of the data for validation (0 < F < 1)"
    )
    run = parser.add_argument_group("training")
    run.add_argument(
        "--epochs", type=_count, metavar="E", help=f"default: the spec's train: epochs, else {DEFAULT_EPOCHS}"
    )
    run.add_argument(
        "--batch-size",
        type=_count,
        metavar="B",
        help=f"the global batch; default: the spec's train: batch, else {DEFAULT_BATCH_SIZE}",
    )
    run.add_argument("--output", metavar="DIR", help="where the model and history go (default: runs/<spec name>)")
    run.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="seeds initialisation, shuffling and --synthetic data (default 0)",
    )
    run.add_argument(
        "--distribute",
        choices=["mirrored", "multiworker"],
        help="mirrored: every GPU (else every CPU device) of this machine; multiworker: the cluster in TF_CONFIG",
    )
    transfer = parser.add_argument_group("transfer learning")
    transfer.add_argument(
        "--weights", metavar="FILE", help="start from the weights of same-named layers in a .keras or .weights.h5 file"
    )
    transfer.add_argument(
        "--freeze",
        metavar="LABEL",
        help="freeze the layers up to and including this one (a spec label, or a Keras layer name)",
    )


def _count(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 1_000_000_000:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number from 1 to 1,000,000,000")
    return int(text)


def _seed(text: str) -> int:
    if not text.strip().isdigit() or int(text) >= 2**32:
        raise argparse.ArgumentTypeError(f"'{text}' is not a seed from 0 to 4,294,967,295")
    return int(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a fraction between 0 and 1, e.g. 0.2")
    return value


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"papernet: error: {message}{_did_you_mean_choice(message)}\n")


def _did_you_mean_choice(message: str) -> str:
    """`invalid choice: 'chek' (choose from 'check', ...)` (a command, a --format) → a suggestion."""
    import difflib

    found = re.search(r"invalid choice: '(.*?)' \(choose from (.*)\)", message)
    if found is None:
        return ""
    choices = re.findall(r"'([^']*)'", found.group(2))
    close = difflib.get_close_matches(found.group(1).lower(), choices, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


def _unknown_arguments(parser: argparse.ArgumentParser, command: str, unknown: list[str]) -> NoReturn:
    """Exit 2 on arguments the command does not take, suggesting the option a misspelt one means."""
    import difflib

    sub = _subcommand_parser(parser, command) or parser
    options = [o for action in sub._actions for o in action.option_strings if o.startswith("--")]
    hints = []
    for argument in unknown:
        if argument.startswith("-"):
            close = difflib.get_close_matches(argument.split("=", 1)[0], options, n=1, cutoff=0.6)
            hints += [f"did you mean {close[0]}?"] if close else []
    suffix = "; " + "; ".join(hints) if hints else ""
    sub.error(f"unrecognized arguments: {' '.join(unknown)}{suffix}")


def _subcommand_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser | None = action.choices.get(command)
            return found
    return None


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="papernet", description="Compile the notation papers print CNNs in to Keras.")
    parser.add_argument("--version", action="version", version=f"papernet {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help_text: str, run: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    def spec_and_adaptation(sub: argparse.ArgumentParser, convention: bool = True) -> None:
        sub.add_argument("spec", metavar="SPEC", help="a spec file, or the name of a shipped spec (vgg16)")
        if convention:
            sub.add_argument(
                "--convention",
                choices=["keras", "torch"],
                default="keras",
                help="how parameters are counted: keras (BN = 4C, 2C non-trainable) or torch (BN = 2C)",
            )
        group = sub.add_argument_group("adaptation")
        group.add_argument("--input", type=input_shape_argument, metavar="HxWxC", help="a new input shape")
        group.add_argument("--classes", type=positive_int, metavar="N", help="a new N-class softmax head")
        group.add_argument(
            "--regression",
            type=shape_argument,
            metavar="HxWxC",
            help="a regression head: a linear FC of H·W·C units reshaped to H×W×C",
        )
        group.add_argument(
            "--head",
            choices=["dense", "conv"],
            default="dense",
            help="the regression head: dense (an FC, reshaped) or conv (the FCs as 1×1 convs, then upsampling)",
        )

    check = command("check", "check a spec: syntax, shapes and the table's claims, reconciled row by row", run_check)
    spec_and_adaptation(check)
    check.add_argument(
        "--format", choices=["table", "json", "markdown"], default="table", help="the reconciliation's format"
    )
    check.add_argument("-o", "--output", metavar="FILE", help="write the reconciliation to this file")
    check.add_argument(
        "--against", metavar="MODEL", help=f"compare an implementation with the spec: {MODEL_HELP} (imports TensorFlow)"
    )
    summary = command("summary", "per-layer shapes, parameters, multiply-adds and receptive fields", run_summary)
    spec_and_adaptation(summary)
    summary.add_argument("--format", choices=["table", "json", "markdown", "csv", "html"], default="table")
    summary.add_argument(
        "--depth", type=positive_int, metavar="N", help="collapse blocks nested deeper than N into one row (1: stages)"
    )
    summary.add_argument("-o", "--output", metavar="FILE", help="write to this file instead of standard output")
    diagram = command("diagram", "draw the network as SVG (or Graphviz DOT), one box per layer", run_diagram)
    spec_and_adaptation(diagram)
    diagram.add_argument("--format", choices=["svg", "dot"], default="svg")
    diagram.add_argument(
        "--depth", type=positive_int, metavar="N", help="draw blocks nested deeper than N as one box (1: stages)"
    )
    diagram.add_argument("-o", "--output", metavar="FILE", help="write to this file instead of standard output")
    compile_ = command("compile", "generate Keras source for the network", run_compile)
    spec_and_adaptation(compile_, convention=False)
    compile_.add_argument("-o", "--output", metavar="FILE.py", help="write to this file instead of standard output")
    build = command("build", "build the Keras model and save it (imports TensorFlow)", run_build)
    spec_and_adaptation(build, convention=False)
    build.add_argument("-o", "--output", metavar="MODEL.keras", required=True, help="the .keras file to write")
    train = command("train", "train the network on your data or on synthetic data (imports TensorFlow)", run_train)
    spec_and_adaptation(train, convention=False)
    _train_arguments(train)
    table = command(
        "import-table", "turn a paper's table (Markdown or CSV, one row per layer) into a spec", run_import_table
    )
    table.add_argument("table", metavar="TABLE", help="a .md or .csv file holding one table")
    table.add_argument(
        "--format",
        dest="table_format",
        choices=["markdown", "csv"],
        help="the table's format (default: from the suffix)",
    )
    table.add_argument(
        "--column",
        type=column_argument,
        action="append",
        metavar="ROLE=HEADER",
        help="read ROLE from the column headed HEADER, e.g. output='output size' (repeatable)",
    )
    table.add_argument("--input", type=input_shape_argument, metavar="HxWxC", help="the network's input shape")
    table.add_argument("--name", metavar="TITLE", help="the network's name in the spec")
    table.add_argument("-o", "--output", metavar="SPEC.pn", help="write to this file instead of standard output")
    keras_model = command(
        "import-keras", "turn a Keras model into a spec in the paper's notation (imports TensorFlow)", run_import_keras
    )
    keras_model.add_argument("model", metavar="MODEL", help=MODEL_HELP)
    keras_model.add_argument("-o", "--output", metavar="SPEC.pn", help="write to this file instead of standard output")
    command("specs", "list the shipped specs", run_specs)
    return parser


if __name__ == "__main__":
    entry_point()
