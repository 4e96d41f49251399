"""Shape arithmetic: small pure functions, one axis at a time.

These mirror Keras's `compute_conv_output_shape` (keras/src/ops/operation_utils.py):
`valid` gives floor((W − d·(F−1) − 1)/S) + 1, `same` gives ceil(W/S). Explicit padding
is the paper's (W + 2P − F)/S + 1, floored as TensorFlow does or ceiled as Caffe's
pooling did. `exact_output_size` keeps the unrounded quotient so a diagnostic can show
"54.25, not an integer".
"""

from __future__ import annotations

from fractions import Fraction
from math import ceil


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """The span a dilated kernel covers.

    >>> effective_kernel(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def exact_output_size(size: int, kernel: int, stride: int, pad_total: int, dilation: int = 1) -> Fraction:
    """(W + P_total − F_eff)/S + 1 before rounding.

    >>> exact_output_size(224, 11, 4, 0)
    Fraction(217, 4)
    >>> float(exact_output_size(224, 11, 4, 0))
    54.25
    """
    return Fraction(size + pad_total - effective_kernel(kernel, dilation), stride) + 1


def padded_output_size(
    size: int, kernel: int, stride: int, pad_total: int, dilation: int = 1, rounding: str = "floor"
) -> int:
    """Output size with explicit padding, floored (TF, PyTorch) or ceiled (Caffe pooling).

    Ceil mode follows Caffe and PyTorch: the last window must start inside the input or
    its left padding, else it is dropped.

    >>> padded_output_size(227, 11, 4, 0)
    55
    >>> padded_output_size(112, 3, 2, 0), padded_output_size(112, 3, 2, 0, rounding="ceil")
    (55, 56)
    >>> padded_output_size(5, 2, 2, 0, rounding="ceil")
    3
    """
    numerator = size + pad_total - effective_kernel(kernel, dilation)
    if rounding != "ceil":
        return numerator // stride + 1
    out = ceil(Fraction(numerator, stride)) + 1
    if out > 1 and (out - 1) * stride >= size + pad_total // 2:
        out -= 1
    return out


def same_output_size(size: int, stride: int) -> int:
    """Keras/TF `padding="same"`: ceil(W/S), whatever the kernel.

    >>> same_output_size(224, 2), same_output_size(7, 2)
    (112, 4)
    """
    return -(-size // stride)


def same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """The (before, after) zero padding that TF's `same` applies; the extra pixel goes after.

    >>> same_padding(224, 7, 2), same_padding(224, 3, 1)
    ((2, 3), (1, 1))
    """
    out = same_output_size(size, stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - size, 0)
    return total // 2, total - total // 2


def is_same_equivalent(kernel: int, stride: int, before: int, after: int, dilation: int = 1) -> bool:
    """Whether explicit padding does exactly what `same` does, for every input size.

    True only at stride 1, where `same` pads (F_eff − 1)/2 on each side.

    >>> is_same_equivalent(3, 1, 1, 1), is_same_equivalent(7, 2, 3, 3)
    (True, False)
    """
    total = effective_kernel(kernel, dilation) - 1
    return stride == 1 and before == total // 2 and after == total - total // 2


def ceil_extra_padding(size: int, kernel: int, stride: int, pad_total: int) -> int:
    """Extra padding at the end that makes floor rounding give the ceil-mode size.

    >>> ceil_extra_padding(112, 3, 2, 0)
    1
    """
    target = padded_output_size(size, kernel, stride, pad_total, rounding="ceil")
    return max(0, (target - 1) * stride + kernel - size - pad_total)


def receptive_field(previous: int, kernel: int, jump: int, dilation: int = 1) -> int:
    """Receptive field after a layer: r_out = r_in + (F_eff − 1)·j_in.

    >>> receptive_field(1, 11, 1), receptive_field(11, 3, 4)
    (11, 19)
    """
    return previous + (effective_kernel(kernel, dilation) - 1) * jump


def integer_fixes(
    size: int,
    stride: int,
    pads: tuple[int, int],
    k_eff: int,
    target: int | None,
    square: bool = True,
    max_pad: int | None = None,
) -> list[str]:
    """Help lines for a division that is not exact: input sizes, paddings and roundings that fix it.

    With a declared output size (`target`), the fixes are those that give it:

    >>> integer_fixes(224, 4, (0, 0), 11, 55)
    ['the declared 55×55 fits input 227×227 with pad 0, or 224×224 with pad 2 (floor)']
    >>> for line in integer_fixes(224, 4, (0, 0), 11, None):
    ...     print(line)
    input 223×223 or 227×227 divides exactly (54 or 55)
    or write `floor` to get 54 (TensorFlow, PyTorch) or `ceil` to get 55 (Caffe pooling)
    """

    def show(value: int) -> str:
        return f"{value}×{value}" if square else str(value)

    pad_total = pads[0] + pads[1]
    pad_text = f"pad {pads[0]}" if pads[0] == pads[1] else f"pad {pads[0]}+{pads[1]}"
    if target is not None:
        fits = []
        exact_input = (target - 1) * stride + k_eff - pad_total
        if exact_input > 0:
            fits.append(f"input {show(exact_input)} with {pad_text}")
        for pad in range(0, (k_eff if max_pad is None else max_pad) + 1):
            numerator = size + 2 * pad - k_eff
            if numerator >= 0 and numerator // stride + 1 == target and 2 * pad != pad_total:
                mode = "exact" if numerator % stride == 0 else "floor"
                fits.append(f"{show(size)} with pad {pad} ({mode})")
                break
        for mode in ("floor", "ceil"):
            if padded_output_size(size, k_eff, stride, pad_total, rounding=mode) == target:
                fits.append(f"{show(size)} with {pad_text} and `{mode}`")
                break
        if fits:
            return [f"the declared {show(target)} fits " + ", or ".join(fits[:2])]
        return [f"no input size or padding near {size} gives the declared {target}"]
    exact_sizes = [
        w
        for w in range(max(1, size - stride), size + stride + 1)
        if w + pad_total >= k_eff and (w + pad_total - k_eff) % stride == 0
    ]
    below = [w for w in exact_sizes if w < size][-1:]
    above = [w for w in exact_sizes if w > size][:1]
    nearest = below + above
    outputs = " or ".join(str((w + pad_total - k_eff) // stride + 1) for w in nearest)
    lines = [f"input {' or '.join(show(w) for w in nearest)} divides exactly ({outputs})"] if nearest else []
    floor_size = padded_output_size(size, k_eff, stride, pad_total)
    ceil_size = padded_output_size(size, k_eff, stride, pad_total, rounding="ceil")
    if floor_size == ceil_size:
        lines.append(f"or write `floor` (or `ceil`) to get {floor_size}")
    else:
        lines.append(
            f"or write `floor` to get {floor_size} (TensorFlow, PyTorch) or `ceil` to get {ceil_size} (Caffe pooling)"
        )
    return lines


def separable_params(
    channels: int, filters: int, kernel: tuple[int, int], multiplier: int = 1, bias: bool = True
) -> int:
    """Parameters of a separable conv as Keras counts them: depthwise k·k·C·m, pointwise C·m·K, bias K.

    >>> separable_params(728, 728, (3, 3))  # 728·9 + 728·728 + 728
    537264
    >>> separable_params(728, 728, (3, 3), bias=False)  # Xception's middle flow
    536536
    """
    middle = channels * multiplier
    return kernel[0] * kernel[1] * middle + middle * filters + (filters if bias else 0)


def transposed_output_size(size: int, kernel: int, stride: int, padding: str) -> int:
    """A transposed conv's output size, as Keras computes it: `same` W·S, `valid` W·S + max(F − S, 0).

    >>> transposed_output_size(28, 2, 2, "valid"), transposed_output_size(28, 4, 2, "valid")
    (56, 58)
    >>> transposed_output_size(28, 4, 2, "same"), transposed_output_size(28, 3, 1, "valid")
    (56, 30)
    """
    return size * stride + (max(kernel - stride, 0) if padding == "valid" else 0)


def upsampled_receptive_field(previous: int, kernel: int, stride: int, jump: int) -> tuple[int, int]:
    """Receptive field and input-pixel stride after a transposed conv or an upsampling by `stride`:
    an output pixel sees ceil(F/S) input pixels along an axis, and neighbouring outputs step
    1/S of an input pixel (rounded up to one, the finest step this model keeps).

    >>> upsampled_receptive_field(16, 2, 2, 8), upsampled_receptive_field(16, 4, 2, 8)
    ((16, 4), (24, 4))
    """
    seen = -(-kernel // stride)
    return previous + (seen - 1) * jump, max(1, jump // stride)


def center_crop(size: int, target: int) -> tuple[int, int]:
    """(before, after) that crop `size` centrally to `target`; an odd difference leaves the extra
    pixel at the end, as TensorFlow's central crop does.

    >>> center_crop(64, 56), center_crop(568, 392), center_crop(7, 4)
    ((4, 4), (88, 88), (1, 2))
    """
    excess = size - target
    return excess // 2, excess - excess // 2


def broadcast(shapes: list[tuple[int, ...]]) -> tuple[int, ...] | None:
    """The shape of an element-wise product, where a size of 1 stretches to the other's; None if
    the shapes do not broadcast.

    >>> broadcast([(56, 56, 96), (1, 1, 96)]), broadcast([(56, 56, 96), (1, 1, 24)])
    ((56, 56, 96), None)
    """
    if len({len(shape) for shape in shapes}) != 1:
        return None
    out = []
    for sizes in zip(*shapes, strict=True):
        wider = {size for size in sizes if size != 1}
        if len(wider) > 1:
            return None
        out.append(wider.pop() if wider else 1)
    return tuple(out)
