"""The intermediate representation: a network as a graph of canonical operation nodes.

Every spelling of a layer in a spec (`conv3-64`, `3×3, 64`, `conv 3x3/1, 64`) lowers to
one node kind here. Nodes are frozen, slotted dataclasses that form a closed union
(`Node`); passes `match` on it and end in `assert_never`, so the type checker proves
that every kind is handled.

A network is a list of nodes in topological order; each node names its inputs by index.
Sequential chains are the common case. Every attribute that a paper may leave unstated
records where its value came from (`Origin`), so reports can say where papernet guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal, TypeAlias

from papernet.span import Span

Pair: TypeAlias = tuple[int, int]
Padding: TypeAlias = Literal["same", "valid"] | tuple[Pair, Pair]
"""`same`, `valid`, or explicit zero padding ((top, bottom), (left, right))."""

Rounding: TypeAlias = Literal["exact", "floor", "ceil"]
"""`exact` (the built-in) requires (W + 2P − F)/S to divide exactly and reports it when
it does not; `floor` (TensorFlow, PyTorch) and `ceil` (Caffe's pooling) round, as the
spec asks."""
PoolOp: TypeAlias = Literal["max", "avg"]


class Origin(StrEnum):
    STATED = "stated"  # written on the layer
    DEFAULT = "default"  # from the spec's `defaults:` section
    ASSUMED = "assumed"  # papernet's documented built-in default
    INFERRED = "inferred"  # pinned down by the table's claims


@dataclass(frozen=True, slots=True)
class Activation:
    """An activation function, by its Keras name; `alpha` is the leaky-ReLU slope."""

    name: str
    alpha: float | None = None

    def describe(self) -> str:
        return self.name if self.alpha is None else f"{self.name} {self.alpha:g}"


LINEAR = Activation("linear")
RELU = Activation("relu")


@dataclass(frozen=True, slots=True)
class Claims:
    """What the paper's table declares about a layer's output, to be checked."""

    shape: tuple[int, ...] | None = None
    shape_span: Span | None = None
    params: Quantity | None = None
    ops: Quantity | None = None
    neurons: Quantity | None = None  # H·W·C of the output
    memory: Quantity | None = None  # activation values (or bytes, 4 a value) the row's output holds
    params_share: Quantity | None = None  # the row's share of the network's params, in %
    ops_share: Quantity | None = None
    extent: tuple[int, int] | None = None
    """For a claim on a group, block use, merge or repeated layer: the first and last node it
    lowered to, whose params and ops the claim totals. None: the nodes of the claim's line."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """A printed figure such as `34,944`, `105M` or `2.7K`, with its printed precision."""

    text: str
    value: float
    unit: str  # "", "K", "M", "G", "T"
    decimals: int
    keyword: str  # the word before it: params, ops, mult-adds, MACs, FLOPs
    span: Span


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeBase:
    name: str
    inputs: tuple[int, ...]
    span: Span
    origins: tuple[tuple[str, Origin], ...] = ()
    claims: Claims = field(default_factory=Claims)
    scope: tuple[str, ...] = ()  # the blocks the node belongs to, outermost first: ("conv2_x", "block1")
    template: str = ""  # the construct it was expanded from: a block's name, "bottleneck_block", "inception"

    def origin(self, attribute: str) -> Origin:
        for key, origin in self.origins:
            if key == attribute:
                return origin
        return Origin.STATED

    def assumed(self) -> tuple[str, ...]:
        """Attributes that papernet guessed, e.g. `("stride", "padding")`."""
        return tuple(key for key, origin in self.origins if origin is Origin.ASSUMED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Input(NodeBase):
    shape: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Conv2D(NodeBase):
    filters: int
    kernel_size: Pair
    strides: Pair
    padding: Padding
    dilation: Pair = (1, 1)
    groups: int = 1
    use_bias: bool = True
    activation: Activation = LINEAR
    rounding: Rounding = "exact"
    kernel_depth: int | None = None  # as stated in `5×5×48`; checked against the input


@dataclass(frozen=True, slots=True, kw_only=True)
class DepthwiseConv2D(NodeBase):
    """A depthwise conv (MobileNet's `conv dw`): one k×k filter per input channel."""

    kernel_size: Pair
    strides: Pair
    padding: Padding
    depth_multiplier: int = 1
    use_bias: bool = True
    activation: Activation = LINEAR
    rounding: Rounding = "exact"


@dataclass(frozen=True, slots=True, kw_only=True)
class SeparableConv2D(NodeBase):
    """Xception's separable conv, one Keras `SeparableConv2D`: a depthwise k×k conv (`depth_multiplier`
    filters per input channel) and a 1×1 pointwise conv to `filters`, with one bias."""

    filters: int
    kernel_size: Pair
    strides: Pair
    padding: Padding
    dilation: Pair = (1, 1)
    depth_multiplier: int = 1
    use_bias: bool = True
    activation: Activation = LINEAR
    rounding: Rounding = "exact"


@dataclass(frozen=True, slots=True, kw_only=True)
class Conv2DTranspose(NodeBase):
    """A transposed conv (U-Net's up-conv, FCN's deconvolution), Keras's `Conv2DTranspose`:
    `valid` gives W·S + max(F − S, 0), `same` gives W·S."""

    filters: int
    kernel_size: Pair
    strides: Pair
    padding: Literal["same", "valid"]
    use_bias: bool = True
    activation: Activation = LINEAR


@dataclass(frozen=True, slots=True, kw_only=True)
class UpSample2D(NodeBase):
    """Keras's `UpSampling2D`: each pixel repeated (nearest) or interpolated `size` times."""

    size: Pair
    interpolation: Literal["nearest", "bilinear", "bicubic"] = "nearest"


@dataclass(frozen=True, slots=True, kw_only=True)
class Crop2D(NodeBase):
    """Keras's `Cropping2D`: `cropping` ((top, bottom), (left, right)) as stated; or, where None,
    U-Net's copy-and-crop: centrally to the height and width of node `match` (its partner in a concat)."""

    cropping: tuple[Pair, Pair] | None = None
    match: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Rescaling(NodeBase):
    """Keras's `Rescaling`: x·scale + offset (`rescale 1/255`). No parameters."""

    scale: float
    offset: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Normalization(NodeBase):
    """Keras's `Normalization` over the channels, adapted to the data: (x − mean)/√variance. Keras
    keeps the mean, the variance (C each) and the sample count as weights that are not trained (2C + 1)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Add(NodeBase):
    """Element-wise sum of same-shaped inputs: the merge of a residual block. A bracket's add
    names its shortcut (`B`, `A`, `C`, `pool`, `identity`) for reports; "" elsewhere."""

    shortcut: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Multiply(NodeBase):
    """Element-wise product of its inputs, broadcast where a size is 1: squeeze-and-excitation's
    scaling of a feature map (H×W×C) by its channel weights (1×1×C)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Concat(NodeBase):
    """Channel concatenation of inputs with the same spatial size: the merge of an inception module."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ShortcutPad(NodeBase):
    """ResNet's option-A shortcut: the identity, subsampled by `strides` and zero-padded to
    `channels` channels. No parameters."""

    strides: Pair
    channels: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Pool2D(NodeBase):
    op: PoolOp
    pool_size: Pair
    strides: Pair
    padding: Padding
    rounding: Rounding = "exact"


@dataclass(frozen=True, slots=True, kw_only=True)
class GlobalPool2D(NodeBase):
    op: PoolOp


@dataclass(frozen=True, slots=True, kw_only=True)
class Dense(NodeBase):
    units: int
    use_bias: bool = True
    activation: Activation = LINEAR


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationLayer(NodeBase):
    activation: Activation


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchNorm(NodeBase):
    """Batch normalisation; `scale` is the learnt γ and `center` the learnt β (Keras's names):
    Inception v3 turns the scale off, leaving β and the moving mean and variance (3C)."""

    epsilon: float = 1e-3
    momentum: float = 0.99
    scale: bool = True
    center: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class LRN(NodeBase):
    """Local response normalisation as AlexNet §3.3 defines it:
    b = a / (k + alpha * sum of a² over `size` adjacent channels) ** beta."""

    size: int = 5
    k: float = 2.0
    alpha: float = 1e-4
    beta: float = 0.75


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropout(NodeBase):
    rate: float


@dataclass(frozen=True, slots=True, kw_only=True)
class DropPath(NodeBase):
    """Stochastic depth (Huang et al. 2016), `drop path 0.2`: in training each sample's whole input
    (a residual branch) is dropped with probability `rate`, Keras's `Dropout(rate, noise_shape=(None, 1, 1, 1))`;
    at inference an identity. No parameters, shape unchanged."""

    rate: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Flatten(NodeBase):
    implicit: bool = False  # inserted by papernet where a paper feeds a conv output to an FC


@dataclass(frozen=True, slots=True, kw_only=True)
class Reshape(NodeBase):
    target_shape: tuple[int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ZeroPad2D(NodeBase):
    padding: tuple[Pair, Pair]


@dataclass(frozen=True, slots=True, kw_only=True)
class Invalid(NodeBase):
    """A layer that could not be lowered; a diagnostic says why. Its output is unknown."""

    text: str


Node: TypeAlias = (
    Input
    | Conv2D
    | DepthwiseConv2D
    | SeparableConv2D
    | Conv2DTranspose
    | UpSample2D
    | Crop2D
    | Rescaling
    | Normalization
    | Add
    | Concat
    | Multiply
    | ShortcutPad
    | Pool2D
    | GlobalPool2D
    | Dense
    | ActivationLayer
    | BatchNorm
    | LRN
    | Dropout
    | DropPath
    | Flatten
    | Reshape
    | ZeroPad2D
    | Invalid
)


def kind_of(node: Node) -> str:
    """The short kind name reports use: conv, maxpool, fc, …"""
    match node:
        case Input():
            return "input"
        case Conv2D():
            return "conv"
        case DepthwiseConv2D():
            return "dwconv"
        case SeparableConv2D():
            return "sepconv"
        case Conv2DTranspose():
            return "deconv"
        case UpSample2D():
            return "upsample"
        case Crop2D():
            return "crop"
        case Rescaling():
            return "rescale"
        case Normalization():
            return "normalize"
        case Add():
            return "add"
        case Concat():
            return "concat"
        case Multiply():
            return "multiply"
        case ShortcutPad():
            return "shortcut"
        case Pool2D(op=op):
            return f"{op}pool"
        case GlobalPool2D(op=op):
            return f"global_{op}pool"
        case Dense():
            return "fc"
        case ActivationLayer():
            return "activation"
        case BatchNorm():
            return "batchnorm"
        case LRN():
            return "lrn"
        case Dropout():
            return "dropout"
        case DropPath():
            return "drop_path"
        case Flatten():
            return "flatten"
        case Reshape():
            return "reshape"
        case ZeroPad2D():
            return "zeropad"
        case Invalid():
            return "invalid"


def describe(node: Node) -> str:
    """A node in the notation papers use: `conv11-96/4`, `maxpool 3×3/2`, `FC-4096`.

    >>> from papernet.span import Span
    >>> at = Span("a.pn", 1, 1, 1, 2)
    >>> describe(Conv2D(name="c", inputs=(0,), span=at, filters=96, kernel_size=(11, 11),
    ...                 strides=(4, 4), padding="valid"))
    'conv11-96/4'
    """
    match node:
        case Conv2D(kernel_size=(kh, kw), strides=(sh, sw), filters=filters):
            size = f"{kh}" if kh == kw else f"{kh}x{kw}"
            stride = "" if (sh, sw) == (1, 1) else f"/{sh}" if sh == sw else f"/{sh}x{sw}"
            return f"conv{size}-{filters}{stride}"
        case DepthwiseConv2D(kernel_size=(kh, kw), strides=(sh, sw)):
            stride = "" if (sh, sw) == (1, 1) else f"/{sh}" if sh == sw else f"/{sh}x{sw}"
            return f"conv dw {kh}×{kw}{stride}"
        case SeparableConv2D(kernel_size=(kh, kw), strides=(sh, sw), filters=filters):
            stride = "" if (sh, sw) == (1, 1) else f"/{sh}" if sh == sw else f"/{sh}x{sw}"
            return f"sep conv {kh}×{kw}{stride}, {filters}"
        case Conv2DTranspose(kernel_size=(kh, kw), strides=(sh, sw), filters=filters):
            stride = f"/{sh}" if sh == sw else f"/{sh}x{sw}"
            return f"up-conv {kh}×{kw}{stride}, {filters}"
        case Rescaling(scale=scale, offset=offset):
            shown = f"1/{1 / scale:g}" if 0 < scale < 1 and (1 / scale).is_integer() else f"{scale:g}"
            return f"rescale {shown}" + (f" offset {offset:g}" if offset else "")
        case Crop2D(cropping=None):
            return "crop to partner"
        case Crop2D(cropping=((top, bottom), (left, right))):
            return f"crop {top},{bottom},{left},{right}"
        case UpSample2D(size=(sh, sw), interpolation=interpolation):
            return f"upsample {sh}×{sw} {interpolation}"
        case ShortcutPad(strides=(sh, _), channels=channels):
            return f"identity shortcut /{sh}, zero-padded to {channels}"
        case Pool2D(op=op, pool_size=(kh, kw), strides=(sh, sw)):
            stride = f"/{sh}" if sh == sw else f"/{sh}x{sw}"
            return f"{op}pool {kh}×{kw}{stride}"
        case Dense(units=units):
            return f"FC-{units}"
        case ActivationLayer(activation=activation):
            return activation.describe()
        case Reshape(target_shape=shape):
            return "reshape " + "×".join(map(str, shape))
        case DropPath(rate=rate):
            return f"drop path {rate:g}"
        case BatchNorm(scale=scale, center=center) if not (scale and center):
            return "BN" + ("" if scale else " scale off") + ("" if center else " center off")
        case _:
            return kind_of(node)


@dataclass(frozen=True, slots=True)
class Counting:
    """How a table counts parameters, as its `defaults: params:` line states it
    (`weights only, K = 1024`); None where the line is silent."""

    biases: bool | None = None
    batch_norm: int | None = None  # parameters per channel: 0, 2 or 4
    base: int | None = None  # what K, M, G are powers of: 1000 or 1024


@dataclass(frozen=True, slots=True)
class TotalClaim:
    kind: Literal["params", "ops", "memory"]
    quantity: Quantity


@dataclass(frozen=True, slots=True)
class TrainLine:
    """One line of a `train:` section, as written; `papernet.training` reads it."""

    text: str
    span: Span


@dataclass(frozen=True, slots=True)
class Graph:
    """A whole network: nodes in topological order (node 0 is the input)."""

    name: str
    nodes: tuple[Node, ...]
    totals: tuple[TotalClaim, ...] = ()
    train: tuple[TrainLine, ...] = ()
    flops_per_mac: int | None = None  # how the spec's `FLOPs` claims count: 1 or 2 per multiply-add; None unstated
    counting: Counting | None = None  # how the spec's `params` claims count, from `defaults: params:`

    @property
    def output(self) -> int:
        return len(self.nodes) - 1
