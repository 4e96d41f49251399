"""A Keras model → a spec in the paper's notation (`papernet import-keras`). Imports Keras.

    model ──read──▶ layers (class, config, inputs, output shape) ──structure──▶ chains and forks
          ──recognise──▶ residual brackets, inception rows ──write──▶ spec text ──verify──▶ papernet's own check

A model is named three ways: a saved `.keras` file, `keras:ResNet50` (a `keras.applications`
constructor, built with `weights=None`), or `file.py:build_fn` (a function returning a model).

The spec is written in the words papers use (`conv3-64`, `maxpool 2×2/2`, `FC-4096`) with the
options that make it exact: padding wherever `defaults:` does not already say it, `pad p` for a
symmetric `ZeroPadding2D` before a `valid` conv or pool, `floor` where Keras rounds a division
down. A conv's or FC's batch norm and activation go on its line (`conv3-64 bn relu`), as papernet
reads them back. A post-activation residual block that papernet's bracket lowering rebuilds exactly
is written as a bracket (`[1×1, 64; 3×3, 64; 1×1, 256] ×3 /2`), a GoogLeNet module as an inception
row, squeeze-and-excitation as `se 4 silu`, U-Net's copy and crop as a labelled line and
`concat(crop @label | identity)` after the path since, and every other merge as `add(… | …)` /
`concat(… | …)`. The words for single layers are in `papernet.keras_words`, the recognition of
brackets and squeeze-and-excitation in `papernet.keras_blocks`. Every line claims its output shape,
and the spec claims the model's total parameters, so `papernet check` on the written spec verifies
the translation; `spec_from_model` runs that check itself and refuses to return a spec that fails it.

A layer papernet's notation has no word for is an `ImportFailure` naming the layer and its class,
never an approximation. What the notation cannot state but that changes no shape or count (a batch
norm's epsilon) is written as a comment at the top of the spec and returned as a note.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from papernet import shapes
from papernet.infer import dims
from papernet.keras_blocks import Bracket, all_blocks, fits, placement, residual_block, squeeze_excite
from papernet.keras_words import (
    PLAIN_BN,
    BatchNormSettings,
    Geometry,
    ImportFailure,
    KerasLayer,
    Pads,
    activation_named,
    activation_word,
    batchnorm_defaults_line,
    batchnorm_notes,
    batchnorm_settings,
    batchnorm_word,
    crop_word,
    foldable_padding,
    is_drop_path,
    is_same_here,
    normalize_word,
    own_activation,
    pads_of,
    pair,
    rescale_word,
    separable_words,
    square,
    transposed_words,
    unsupported,
    upsample_word,
    zeropad_word,
)
from papernet.series_parallel import Element, Fork, NotSeriesParallel, Step, decompose, nodes_of

__all__ = ["ImportFailure", "KerasLayer", "ModelNotFound", "import_keras", "model_network", "spec_from_model"]

if TYPE_CHECKING:
    import keras

    from papernet.api import Network


class ModelNotFound(Exception):
    """A MODEL argument that names no model: a usage error."""


# ---- loading --------------------------------------------------------------------------


def load_model(source: str) -> keras.Model:
    """`keras:ResNet50`, `file.py:build_fn` or `model.keras` → a Keras model."""
    file, colon, function = source.rpartition(":")
    builds = bool(colon) and file.endswith(".py") and function.isidentifier()
    path = Path(file if builds else source)
    if not source.startswith("keras:"):
        if not builds and path.suffix != ".keras":
            raise ModelNotFound(
                f"'{source}' is not a model: give a .keras file, keras:Name (keras.applications) or file.py:function"
            )
        if not path.is_file():
            raise ModelNotFound(f"no such {'file' if builds else 'model file'}: '{path}'")
    keras = _keras()
    if source.startswith("keras:"):
        return _application(keras, source.removeprefix("keras:"))
    if builds:
        return _built_by(path, function, keras)
    import papernet.backends.layers  # noqa: F401  (registers papernet's own layers for loading)

    try:
        model = keras.models.load_model(path, compile=False)
    except Exception as exc:  # Keras raises many kinds for a bad file
        raise ModelNotFound(f"cannot load '{source}': {exc}") from None
    return _checked_model(model, source, keras)


def _keras() -> Any:
    from papernet.backends.keras_import import import_keras
    from papernet.diagnostics import KerasNotInstalled

    try:
        return import_keras("importing a Keras model")
    except KerasNotInstalled:
        raise ModelNotFound("importing a Keras model needs Keras: pip install 'papernet[keras]'") from None


def _application(keras: Any, name: str) -> keras.Model:
    names = sorted(n for n in dir(keras.applications) if n[:1].isupper())
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1, cutoff=0.5)
        hint = f"; did you mean keras:{close[0]}?" if close else f" (known: {', '.join(names)})"
        raise ModelNotFound(f"keras.applications has no model '{name}'{hint}")
    return getattr(keras.applications, name)(weights=None)


def _built_by(file: Path, function: str, keras: Any) -> keras.Model:
    import runpy

    try:
        namespace = runpy.run_path(str(file), run_name="__papernet_import__")
        builder = namespace.get(function)
        if not callable(builder):
            raise ModelNotFound(f"'{file}' defines no function '{function}'")
        model = builder()
    except ModelNotFound:
        raise
    except Exception as exc:  # the user's code: say what it raised, not papernet's traceback
        raise ModelNotFound(f"running {file}:{function} raised {type(exc).__name__}: {exc}") from None
    return _checked_model(model, f"{file}:{function}", keras)


def _checked_model(model: object, source: str, keras: Any) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise ModelNotFound(f"'{source}' gives a {type(model).__name__}, not a keras.Model")
    return model


# ---- reading a model as a graph of layers ------------------------------------------------


def read_layers(model: keras.Model) -> list[KerasLayer]:
    """The model's layers in topological order, each with the indices of its inputs."""
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise ImportFailure(
            f"model '{model.name}' has {len(model.inputs)} inputs and {len(model.outputs)} outputs; "
            "a spec describes a network with one input and one output"
        )
    if type(model).__name__ != "Functional":  # a Sequential model's layers leave out its input
        import keras

        model = keras.Model(model.inputs, model.outputs, name=model.name)
    layers = _topological(list(model.layers))
    index = {id(layer): i for i, layer in enumerate(layers)}
    read = []
    for i, layer in enumerate(layers):
        cls = type(layer).__name__
        if hasattr(layer, "layers") and cls not in ("InputLayer",):
            raise ImportFailure(
                f"layer {layer.name} ({cls}) is a model inside the model; papernet imports flat models "
                "(build the inner model's layers into the outer one)"
            )
        nodes = [node for node in layer._inbound_nodes if _belongs(node, index)]
        if len(nodes) > 1:
            raise ImportFailure(f"layer {layer.name} ({cls}) is used {len(nodes)} times; a spec has no shared layers")
        sources: tuple[int, ...] = ()
        input_shape: tuple[int, ...] = ()
        if nodes and cls != "InputLayer":
            tensors = nodes[0].input_tensors
            sources = tuple(index[id(t._keras_history.operation)] for t in tensors)
            input_shape = _without_batch(tensors[0].shape)
        read.append(
            KerasLayer(
                index=i,
                name=layer.name,
                cls=cls,
                config=layer.get_config(),
                inputs=sources,
                input_shape=input_shape,
                shape=_without_batch(layer.output.shape),
                params=layer.count_params(),
            )
        )
    return read


def _topological(layers: list[Any]) -> list[Any]:
    """The layers with every layer after the layers it reads (Kahn's order, stable)."""
    known = {id(layer) for layer in layers}
    placed: set[int] = set()
    ordered: list[Any] = []
    pending = list(layers)
    while pending:
        rest = []
        for layer in pending:
            sources = {
                id(t._keras_history.operation)
                for node in layer._inbound_nodes
                for t in node.input_tensors
                if id(t._keras_history.operation) in known
            }
            if sources <= placed:
                ordered.append(layer)
                placed.add(id(layer))
            else:
                rest.append(layer)
        if len(rest) == len(pending):
            raise ImportFailure("the model's layers form a cycle")
        pending = rest
    return ordered


def _belongs(node: Any, index: Mapping[int, int]) -> bool:
    return all(id(t._keras_history.operation) in index for t in node.input_tensors)


def _without_batch(shape: Sequence[int | None]) -> tuple[int, ...]:
    rest = tuple(shape)[1:]
    if any(d is None for d in rest):
        raise ImportFailure(f"a tensor of shape {tuple(shape)} has an unknown size; give the model a fixed input size")
    return tuple(int(d) for d in rest if d is not None)


# ---- structure: chains and forks ---------------------------------------------------------


def structure(layers: Sequence[KerasLayer]) -> tuple[Element, ...]:
    """The model as a chain of steps and forks (`papernet.series_parallel`)."""
    try:
        return decompose([layer.inputs for layer in layers])
    except NotSeriesParallel as exc:
        raise ImportFailure(
            f"the model's graph is not series–parallel at {layers[exc.node].described}: {exc}; "
            "papernet's merges cannot write it"
        ) from None


# ---- the notation's words for single layers -------------------------------------------------

# ---- the model → spec lines ------------------------------------------------------------------


_WEIGHTED = ("Conv2D", "DepthwiseConv2D", "SeparableConv2D", "Conv2DTranspose", "Dense")
"""The layers a line is written for with their batch norm and activation (`conv3-64 bn relu`)."""

_LABELLED = re.compile(r"[A-Za-z_]\w*: ")


@dataclass
class _Defaults:
    """What the spec's `defaults:` says, so that layer lines state only what differs."""

    conv_padding: str = "same"
    conv_activation: str = "relu"
    conv_bias: bool = True
    pool_padding: dict[str, str] = field(default_factory=dict)  # the pool kinds the model has
    residual: tuple[str, str] | None = None  # (shortcut option, stride placement) when brackets are written
    batchnorm: BatchNormSettings = PLAIN_BN  # (scale, center) of the batch norms a conv line's `bn` adds

    def lines(self) -> list[str]:
        conv = [f"padding {self.conv_padding}", f"activation {self.conv_activation}"]
        if not self.conv_bias:
            conv.append("bias off")
        found = ["defaults:", "  conv: " + ", ".join(conv)]
        found += [f"  {op}pool: padding {padding}" for op, padding in self.pool_padding.items()]
        batchnorm = batchnorm_defaults_line(self.batchnorm)
        if batchnorm is not None:
            found.append(batchnorm)
        if self.residual is not None:
            option, stride_on = self.residual
            found.append(f"  residual: shortcut {option}, stride on {stride_on}")
        return found


@dataclass(frozen=True)
class _Line:
    text: str
    last: int  # the Keras layer whose output the line ends in
    first: int  # the first Keras layer the line writes


@dataclass
class _Writer:
    layers: Sequence[KerasLayer]
    defaults: _Defaults
    labels: set[str] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)

    def layer(self, index: int) -> KerasLayer:
        return self.layers[index]

    # -- chains

    def chain(self, elements: Sequence[Element], top: bool) -> list[_Line]:
        lines: list[_Line] = []
        position = 0
        while position < len(elements):
            bracket_stage = self._stage(elements, position) if top else None
            if bracket_stage is not None:
                line, position = bracket_stage
                lines.append(line)
                continue
            element = elements[position]
            if isinstance(element, Fork):
                copied = self._copy_and_crop(element, lines) if top else None
                lines += copied if copied is not None else [self.fork(element)]
                position += 1
                continue
            line, position = self.steps(elements, position)
            lines.append(line)
        return lines

    def steps(self, elements: Sequence[Element], position: int) -> tuple[_Line, int]:
        """One line from the step at `position`, with what folds into it: a ZeroPadding2D before a
        valid conv or pool, a conv's or FC's batch norm and activation."""
        element = elements[position]
        assert isinstance(element, Step)
        layer = self.layer(element.node)

        def step_at(offset: int) -> KerasLayer | None:
            at = position + offset
            if at < len(elements) and isinstance(elements[at], Step):
                return self.layer(elements[at].node)
            return None

        if layer.cls == "ZeroPadding2D":
            following = step_at(1)
            pads = pads_of(layer.config["padding"])
            if following is not None and foldable_padding(following, pads):
                line, end = self.steps_with_padding(elements, position + 1, pads)
                return _Line(line.text, line.last, layer.index), end
            return _Line(zeropad_word(pads), layer.index, layer.index), position + 1
        return self.steps_with_padding(elements, position, None)

    def steps_with_padding(self, elements: Sequence[Element], position: int, pads: Pads | None) -> tuple[_Line, int]:
        element = elements[position]
        assert isinstance(element, Step)
        layer = self.layer(element.node)
        following: list[KerasLayer] = []  # the steps right after it, which may fold into a conv or FC line
        for after_element in elements[position + 1 : position + 3]:
            if not isinstance(after_element, Step):
                break
            following.append(self.layer(after_element.node))
        if layer.cls in _WEIGHTED:
            own = activation_named(layer.config.get("activation", "linear"), layer)
            bn = following[0] if following and self._folds(following[0]) and own == "linear" else None
            if bn is not None:
                self._batchnorm_notes(bn)
            after = following[1 if bn is not None else 0] if len(following) > (1 if bn is not None else 0) else None
            act = activation_word(after) if after is not None and (own == "linear") else None
            if act is not None and act.startswith("leaky"):
                act = None  # papernet fuses every activation but leaky ReLU; it stays its own line
            activation = act or own
            consumed = 1 + (bn is not None) + (act is not None)
            last = elements[position + consumed - 1]
            assert isinstance(last, Step)
            next_element = elements[position + consumed] if position + consumed < len(elements) else None
            text = self.weighted(layer, pads, bn is not None, activation, self._must_state(next_element))
            return _Line(text, last.node, layer.index), position + consumed
        return _Line(self.single(layer, pads), layer.index, layer.index), position + 1

    def _folds(self, layer: KerasLayer) -> bool:
        """Whether a batch norm after a conv or FC goes on its line (`bn`): one with the settings
        `defaults: batchnorm:` gives it."""
        return layer.cls == "BatchNormalization" and batchnorm_settings(layer) == self.defaults.batchnorm

    def _must_state(self, following: Element | None) -> bool:
        """Whether a conv line must state its activation even where `defaults:` says it: papernet
        fuses an activation (or a batch norm and an activation) that follows an unstated one."""
        if not isinstance(following, Step):
            return False
        layer = self.layer(following.node)
        return layer.cls == "BatchNormalization" or activation_word(layer) is not None

    def weighted(
        self,
        layer: KerasLayer,
        pads: Pads | None,
        bn: bool,
        activation: str,
        must_state: bool,
    ) -> str:
        config = layer.config
        words: list[str] = []
        if layer.cls == "Dense":
            if len(layer.input_shape) != 1:
                raise ImportFailure(
                    f"layer {layer.described} applies an FC to each position of a {dims(layer.input_shape)} input; "
                    "papernet's FC flattens first (add a Flatten, or use a 1×1 conv)"
                )
            words.append(f"FC-{config['units']}")
            if not config.get("use_bias", True):
                words.append("bias off")
            if bn:
                words.append("bn")
            words.append(activation)
            return " ".join(words)
        if layer.cls == "Conv2DTranspose":
            words += transposed_words(layer)
            padding = str(config.get("padding"))
            if padding != self.defaults.conv_padding:
                words.append(f"padding {padding}")
            return " ".join(self._conv_tail(words, layer, bn, activation, must_state))
        kernel = pair(config["kernel_size"])
        strides = pair(config.get("strides", 1))
        stride = square(strides, "strides", layer)
        if layer.cls == "SeparableConv2D":
            words += separable_words(layer)
        elif layer.cls == "DepthwiseConv2D":
            if config.get("depth_multiplier", 1) != 1:
                raise ImportFailure(f"layer {layer.described} has depth multiplier {config['depth_multiplier']}")
            if pair(config.get("dilation_rate", 1)) != (1, 1):
                raise ImportFailure(f"layer {layer.described} is a dilated depthwise conv; the notation cannot say so")
            words.append(f"conv dw {kernel[0]}×{kernel[1]}" + (f"/{stride}" if stride != 1 else ""))
        else:
            if kernel[0] == kernel[1]:
                words.append(f"conv{kernel[0]}-{config['filters']}" + (f"/{stride}" if stride != 1 else ""))
            else:
                words.append(f"conv {kernel[0]}×{kernel[1]}, {config['filters']}")
                if stride != 1:
                    words.append(f"stride {stride}")
            dilation = square(pair(config.get("dilation_rate", 1)), "dilation", layer)
            if dilation != 1:
                words.append(f"dilation {dilation}")
            if config.get("groups", 1) != 1:
                words.append(f"groups {config['groups']}")
        words += self._padding_words(Geometry.of(layer, pads, kernel), self.defaults.conv_padding)
        return " ".join(self._conv_tail(words, layer, bn, activation, must_state))

    def _conv_tail(self, words: list[str], layer: KerasLayer, bn: bool, activation: str, must_state: bool) -> list[str]:
        """A conv line's bias, batch norm and activation, where they differ from `defaults: conv:`."""
        bias = bool(layer.config.get("use_bias", True))
        if bias != self.defaults.conv_bias:
            words.append("bias on" if bias else "bias off")
        if bn:
            words.append("bn")
        if activation != self.defaults.conv_activation or must_state:
            words.append(activation)
        return words

    @staticmethod
    def _padding_words(geometry: Geometry, default: str) -> list[str]:
        words = list(geometry.words)
        if words[0] == default:
            words = words[1:]
        elif words[0] in ("same", "valid"):
            words[0] = f"padding {words[0]}"
        return [" ".join(words[:2]), *words[2:]] if words[:1] == ["pad"] else words

    def single(self, layer: KerasLayer, pads: Pads | None) -> str:
        config = layer.config
        word = activation_word(layer)
        if word is not None:
            return word
        match layer.cls:
            case "InputLayer":
                return f"input {dims(layer.shape)}"
            case "MaxPooling2D" | "AveragePooling2D":
                op = "max" if layer.cls == "MaxPooling2D" else "avg"
                window = pair(config["pool_size"])
                stride = square(pair(config.get("strides") or window), "strides", layer)
                geometry = Geometry.of(layer, pads, window)
                words = [f"{op}pool {window[0]}×{window[1]}/{stride}"]
                return " ".join(words + self._padding_words(geometry, self.defaults.pool_padding.get(op, "")))
            case "GlobalAveragePooling2D" | "GlobalMaxPooling2D":
                op = "avg" if layer.cls == "GlobalAveragePooling2D" else "max"
                if not config.get("keepdims", False):
                    return f"global {op}pool"
                height, width = layer.input_shape[:2]  # the whole map, kept as 1×1×C: a pool of its size
                return f"{op}pool {height}×{width}/1 padding valid"
            case "BatchNormalization":
                self._batchnorm_notes(layer)
                return batchnorm_word(batchnorm_settings(layer), self.defaults.batchnorm)
            case "Dropout":
                word = "drop path" if is_drop_path(layer) else "dropout"  # stochastic depth: a sample's whole map
                return f"{word} {float(config['rate']):g}"
            case "Rescaling":
                return rescale_word(layer)
            case "Normalization":
                return normalize_word(layer)
            case "UpSampling2D":
                return upsample_word(layer)
            case "Cropping2D":
                return crop_word(pads_of(config["cropping"]))
            case "Flatten":
                return "flatten"
            case "Reshape":
                return f"reshape {dims(tuple(config['target_shape']))}"
            case "ZeroPadding2D":
                return zeropad_word(pads_of(config["padding"]))
            case "LocalResponseNormalization":
                defaults = {"size": 5, "k": 2.0, "alpha": 1e-4, "beta": 0.75}
                if any(float(config.get(key, value)) != value for key, value in defaults.items()):
                    raise ImportFailure(
                        f"layer {layer.described} has parameters other than AlexNet's (n=5, k=2, α=1e-4, β=0.75), "
                        "the only LRN the notation names"
                    )
                return "LRN"
        raise ImportFailure(unsupported(layer))

    def _batchnorm_notes(self, layer: KerasLayer) -> None:
        config = layer.config
        axis = config.get("axis", -1)
        if axis not in (-1, [-1], len(layer.input_shape), [len(layer.input_shape)]):
            raise ImportFailure(f"layer {layer.described} normalises axis {axis}; papernet's BN normalises channels")
        for note in batchnorm_notes(config):
            if note not in self.notes:
                self.notes.append(note)

    # -- merges

    def fork(self, fork: Fork) -> _Line:
        merge = self.layer(fork.node)
        if merge.cls == "Multiply":
            excite = squeeze_excite(fork, self.layers)
            if excite is None:
                raise ImportFailure(
                    f"layer {merge.described} multiplies branches that are not squeeze-and-excitation "
                    "(global average pool → 1×1 conv → 1×1 conv with sigmoid), the one product the notation names"
                )
            words = [f"se {excite.width}"]
            if excite.activation != self.defaults.conv_activation:
                words.append(excite.activation)
            return _Line(" ".join(words), fork.node, min(nodes_of((fork,))))
        if merge.cls == "Add":
            op = "add"
        elif merge.cls == "Concatenate":
            if merge.config.get("axis", -1) not in (-1, len(merge.shape)):
                raise ImportFailure(f"layer {merge.described} concatenates on axis {merge.config['axis']}")
            op = "concat"
        else:
            raise ImportFailure(unsupported(merge))
        inception = self._inception(fork) if op == "concat" else None
        if inception is not None:
            return _Line(inception, fork.node, min(nodes_of((fork,))))
        branches = [
            "crop" if self._crops_to_partner(fork, i) else " -> ".join(line.text for line in self.chain(b, False))
            for i, b in enumerate(fork.branches)
        ]
        return _Line(f"{op}(" + " | ".join(b or "identity" for b in branches) + ")", fork.node, min(nodes_of((fork,))))

    def _cropped(self, fork: Fork) -> int | None:
        """The branch of a two-way concat that is one `Cropping2D` (U-Net's copy and crop), if one is."""
        if self.layer(fork.node).cls != "Concatenate" or len(fork.branches) != 2:
            return None
        for i, branch in enumerate(fork.branches):
            if len(branch) == 1 and isinstance(branch[0], Step) and self.layer(branch[0].node).cls == "Cropping2D":
                return i
        return None

    def _crops_to_partner(self, fork: Fork, branch: int) -> bool:
        """Whether branch `branch` of `fork` is a crop that cuts its input centrally to the other
        branch's height and width: the notation's bare `crop` inside a concat."""
        if self._cropped(fork) != branch:
            return False
        step = fork.branches[branch][0]
        assert isinstance(step, Step)
        crop = self.layer(step.node)
        partner = self.layer(fork.node).shape  # the concat's height and width are its partner's
        size = crop.input_shape
        central = (shapes.center_crop(size[0], partner[0]), shapes.center_crop(size[1], partner[1]))
        return pads_of(crop.config["cropping"]) == central

    def _copy_and_crop(self, fork: Fork, lines: list[_Line]) -> list[_Line] | None:
        """U-Net's skip: a concat of a crop of an earlier line's output and the path since, written
        flat — the earlier line labelled, the path as lines of its own, `concat(crop @label | identity)`.
        None for any other fork (or one whose input is not the last line's output)."""
        branch = self._cropped(fork)
        if branch is None or not fork.branches[1 - branch] or not lines:
            return None
        step = fork.branches[branch][0]
        assert isinstance(step, Step)
        crop = self.layer(step.node)
        previous = lines[-1]
        if previous.last != crop.inputs[0] or _LABELLED.match(previous.text):
            return None
        label = self._label(self.layer(previous.last).name)
        lines[-1] = _Line(f"{label}: {previous.text}", previous.last, previous.first)
        path = self.chain(fork.branches[1 - branch], top=True)
        copied = (
            f"crop @{label}"
            if self._crops_to_partner(fork, branch)
            else f"@{label} -> {crop_word(pads_of(crop.config['cropping']))}"
        )
        parts = [copied, "identity"] if branch == 0 else ["identity", copied]
        return [*path, _Line(f"concat({parts[0]} | {parts[1]})", fork.node, crop.index)]

    def _label(self, name: str) -> str:
        """A label for a line, from its last Keras layer's name, unique in the spec."""
        base = re.sub(r"\W+", "_", name, flags=re.ASCII).strip("_")
        if not base or not base[0].isalpha():
            base = f"skip_{base}".rstrip("_")
        label, number = base, 1
        while label in self.labels:
            number += 1
            label = f"{base}_{number}"
        self.labels.add(label)
        return label

    def _inception(self, fork: Fork) -> str | None:
        """GoogLeNet's module: 1×1 | 1×1 → 3×3 | 1×1 → 5×5 | 3×3/1 max pool → 1×1, each conv `same`
        with its ReLU, in that order."""
        patterns = [["c1"], ["c1", "c3"], ["c1", "c5"], ["p3", "c1"]]
        if len(fork.branches) != 4:
            return None
        columns: list[int] = []
        for branch, pattern in zip(fork.branches, patterns, strict=True):
            if len(branch) != len(pattern) or not all(isinstance(e, Step) for e in branch):
                return None
            for element, kind in zip(branch, pattern, strict=True):
                assert isinstance(element, Step)
                layer = self.layer(element.node)
                if kind == "p3":
                    config = layer.config
                    if layer.cls != "MaxPooling2D" or pair(config["pool_size"]) != (3, 3):
                        return None
                    if pair(config.get("strides") or 3) != (1, 1) or not is_same_here(layer, (3, 3)):
                        return None
                    continue
                size = int(kind[1])
                config = layer.config
                if (
                    layer.cls != "Conv2D"
                    or pair(config["kernel_size"]) != (size, size)
                    or pair(config.get("strides", 1)) != (1, 1)
                    or pair(config.get("dilation_rate", 1)) != (1, 1)
                    or config.get("groups", 1) != 1
                    or config.get("activation") != "relu"
                    or bool(config.get("use_bias", True)) != self.defaults.conv_bias
                    or not is_same_here(layer, (size, size))
                ):
                    return None
                columns.append(int(config["filters"]))
        name = self.layer(fork.node).name
        match = re.fullmatch(r"inception_(\w+)_output", name)
        head = f"inception({match[1]})" if match and match[1] not in self.labels else "inception"
        if match:
            self.labels.add(match[1])
        return f"{head} " + " ".join(map(str, columns))

    # -- residual brackets

    def _stage(self, elements: Sequence[Element], position: int) -> tuple[_Line, int] | None:
        """Consecutive bracket blocks with the same convs, the first of which may stride: one
        `[…; …] ×N /s` line."""
        if self.defaults.residual is None:
            return None
        first = self._bracket_at(elements, position)
        if first is None:
            return None
        blocks = [first]
        at = position + 2
        while True:
            following = self._bracket_at(elements, at)
            if following is None or following.convs != first.convs or following.stride != 1:
                break
            blocks.append(following)
            at += 2
        parts = "; ".join(f"{k[0]}×{k[1]}, {f}" for k, f in first.convs)
        stride = f" /{first.stride}" if first.stride != 1 else ""
        label = self._stage_label(first)
        for block in blocks:
            for note in block.notes:
                if note not in self.notes:
                    self.notes.append(note)
        return _Line(f"{label}[{parts}] ×{len(blocks)}{stride}", blocks[-1].out, first.start), at

    def _stage_label(self, block: Bracket) -> str:
        name = self.layer(block.first).name
        match = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*?)_block1_\w+", name)
        if match is None or match[1] in self.labels:
            return ""
        self.labels.add(match[1])
        return f"{match[1]}: "

    def _bracket_at(self, elements: Sequence[Element], position: int) -> Bracket | None:
        if position + 1 >= len(elements):
            return None
        fork, out = elements[position], elements[position + 1]
        if not isinstance(fork, Fork) or not isinstance(out, Step):
            return None
        block = residual_block(fork, out, self.layers)
        if block is None or self.defaults.residual is None:
            return None
        option, stride_on = self.defaults.residual
        if block.bias != self.defaults.conv_bias or not fits(block, option, stride_on):
            return None
        return block


# ---- choosing defaults -------------------------------------------------------------------------


def _choose_defaults(elements: Sequence[Element], layers: Sequence[KerasLayer]) -> _Defaults:
    convs = [layer for layer in layers if layer.cls in _WEIGHTED and layer.cls != "Dense"]
    chosen = _Defaults()
    batchnorms = Counter(batchnorm_settings(layer) for layer in layers if layer.cls == "BatchNormalization")
    if batchnorms:
        chosen.batchnorm = batchnorms.most_common(1)[0][0]
    paddings = Counter(str(layer.config.get("padding")) for layer in convs)
    activations = Counter(own_activation(layer) for layer in convs)
    biases = Counter(bool(layer.config.get("use_bias", True)) for layer in convs)
    if paddings:
        chosen.conv_padding = paddings.most_common(1)[0][0]
    if activations:
        chosen.conv_activation = activations.most_common(1)[0][0]
    if biases:
        chosen.conv_bias = biases.most_common(1)[0][0]
    for op, cls in (("max", "MaxPooling2D"), ("avg", "AveragePooling2D")):
        pools = Counter(str(layer.config.get("padding")) for layer in layers if layer.cls == cls)
        if pools:
            chosen.pool_padding[op] = pools.most_common(1)[0][0]
    blocks = all_blocks(elements, layers) if chosen.batchnorm == PLAIN_BN else []  # a bracket's BNs take the defaults
    if blocks:
        chosen.conv_bias = Counter(block.bias for block in blocks).most_common(1)[0][0]
        chosen.conv_padding = "same"  # a bracket's convs take the conv default padding
        options = Counter(
            option
            for block in blocks
            for option in "ABC"
            if block.bias == chosen.conv_bias and fits(block, option, placement(block))
        )
        option = max("BAC", key=lambda o: options[o])  # ties: B, the paper's choice
        placements = Counter(placement(block) for block in blocks if block.stride != 1)
        stride_on = placements.most_common(1)[0][0] if placements else "first"
        chosen.residual = (option, stride_on)
    return chosen


# ---- the whole import ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Imported:
    """A model's spec text, the notes on what it could not state, and the model's own figures."""

    text: str
    notes: tuple[str, ...]
    total_params: int
    trainable_params: int
    line_layers: Mapping[int, tuple[str, str]] = field(default_factory=dict)
    """Spec line → the first and last Keras layer written on it."""


def spec_from_model(model: keras.Model, source: str = "") -> Imported:
    """The spec of `model`, verified: papernet reads it back to the model's shapes and counts."""
    layers = read_layers(model)
    if not layers or layers[0].cls != "InputLayer":
        raise ImportFailure(f"model '{model.name}' does not start with an input layer")
    for layer in layers:
        _check_layout(layer)
    elements = structure(layers)
    writer = _Writer(layers, _choose_defaults(elements, layers))
    try:
        body = writer.chain(elements, top=True)
    except (KeyError, TypeError, ValueError, AssertionError) as exc:  # a configuration papernet did not foresee
        raise ImportFailure(f"papernet cannot read a layer's configuration in model '{model.name}': {exc!r}") from None
    trainable, frozen = _trainable_as_built(model)
    if frozen:
        writer.notes.append(
            f"{frozen} frozen layer{'s' if frozen != 1 else ''} (the spec counts their weights as trainable)"
        )
    title = re.sub(r'["\n]', "", model.name) or "imported"
    header = [f"# Imported from {source or model.name} by papernet import-keras."]
    header += [f"# The model has {note}." for note in writer.notes]
    lines = [*header, f'network "{title}"']
    written: dict[int, tuple[str, str]] = {}
    for text_line, line in _body_lines(body, layers, writer.defaults):
        lines.append(text_line)
        if line is not None:
            written[len(lines)] = (layers[line.first].name, layers[line.last].name)
    lines += ["", f"total params {model.count_params():,}"]
    text = "\n".join(lines) + "\n"
    imported = Imported(text, tuple(writer.notes), int(model.count_params()), trainable, written)
    verify(imported, source or model.name)
    return imported


def _check_layout(layer: KerasLayer) -> None:
    """Channels last, and an input the notation can state: H×W×C or a flat vector."""
    if layer.config.get("data_format") == "channels_first":
        raise ImportFailure(f"layer {layer.described} is channels-first; papernet's networks are channels-last")
    if layer.cls == "InputLayer" and len(layer.shape) not in (1, 3):
        raise ImportFailure(f"the model's input is {dims(layer.shape)}; a spec's input is H×W×C or a flat vector")


def _trainable_as_built(model: keras.Model) -> tuple[int, int]:
    """The trainable parameters of the architecture, whatever a user froze for transfer learning,
    and how many layers were frozen (their `trainable` flags are restored)."""
    frozen = [layer for layer in [model, *model.layers] if not layer.trainable]
    for layer in frozen:
        layer.trainable = True
    try:
        count = sum(_size(w) for w in model.trainable_weights)
    finally:
        for layer in frozen:
            layer.trainable = False
    return count, len([layer for layer in frozen if layer is not model])


def _size(weight: Any) -> int:
    count = 1
    for d in weight.shape:
        count *= int(d)
    return count


def _body_lines(
    body: Sequence[_Line], layers: Sequence[KerasLayer], defaults: _Defaults
) -> list[tuple[str, _Line | None]]:
    """The spec's lines after its title, each with the `_Line` it writes (None: a header line)."""
    first, rest = body[0], body[1:]
    lines: list[tuple[str, _Line | None]] = [(first.text, None), ("", None)]
    lines += [(text, None) for text in [*defaults.lines(), ""]]
    width = min(max((len(line.text) for line in rest), default=0), 48)
    for line in rest:
        lines.append((f"{line.text:<{width}} -> {dims(layers[line.last].shape)}", line))
    return lines


def verify(imported: Imported, source: str) -> Network:
    """Parse the written spec and check it: every shape claim and the total must hold, and the
    trainable split must be the model's. A failure here is papernet's mistake, reported as one."""
    from papernet.api import parse
    from papernet.diagnostics import SpecError, render_all

    try:
        network = parse(imported.text, f"<import of {source}>")
    except SpecError as exc:
        raise ImportFailure(f"papernet cannot read the spec it wrote for {source}:\n{exc}") from None
    errors = [d for d in network.check() if d.is_error]
    if errors:
        shown = render_all(errors[:3], network.sources)
        raise ImportFailure(f"the spec written for {source} does not reproduce the model:\n{shown}")
    trainable = network.infer().total_trainable
    if trainable != imported.trainable_params:
        raise ImportFailure(
            f"the spec written for {source} has {trainable:,} trainable parameters; the model has "
            f"{imported.trainable_params:,}"
        )
    return network


def model_network(model: str | keras.Model) -> tuple[Network, dict[int, str], str]:
    """A model (or a MODEL argument) as a papernet network, with the Keras layers behind each node
    and a name for the model in messages."""
    source = model if isinstance(model, str) else ""
    loaded = load_model(model) if isinstance(model, str) else model
    name = source or f"model '{loaded.name}'"
    imported = spec_from_model(loaded, source or loaded.name)
    network = verify(imported, source or loaded.name)
    where = {}
    for index, node in enumerate(network.graph.nodes):
        first, last = imported.line_layers.get(node.span.line, ("", ""))
        if first:
            where[index] = first if first == last else f"{first} … {last}"
    return network, where, name


def import_keras(source: str) -> Imported:
    """`papernet import-keras MODEL`: load the model and write its spec."""
    return spec_from_model(load_model(source), source)
