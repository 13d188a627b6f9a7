"""numpy / torch in and out, input checks with the CLI's messages, and arrays bound to kernel buffers.

Inputs: C-contiguous float32 arrays on the CPU (numpy, or torch tensors through
Tensor.numpy(), which shares memory) are read in place; anything else costs one
copy to C-contiguous float32 (float64 is narrowed, GPU tensors come to the host).
Outputs are numpy arrays the kernels write directly, returned as torch tensors
(torch.from_numpy: no copy) when the caller passed tensors.
"""

from __future__ import annotations

import contextvars
import ctypes
import math
import sys
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from ._native import Buffer, Context, default_context, stats


class Mast3rInputError(ValueError):
    """An input has the wrong dtype, rank, shape or values; raised before any native call, naming the argument."""


class Unsupported(Mast3rInputError):
    """An option or input scanstream does not serve (exactly); a patched MASt3R function calls the original instead."""


# set while a patched MASt3R function runs: inputs scanstream would only approximate
# (float64 computed in float32) go to MASt3R's own code instead
strict = contextvars.ContextVar('scanstream_strict', default=False)


def torch_module() -> Any:
    """torch when the caller has imported it (a tensor cannot exist otherwise), else None."""
    return sys.modules.get('torch')


def is_tensor(x: Any) -> bool:
    torch = torch_module()
    return torch is not None and isinstance(x, torch.Tensor)


def shape_str(shape: Sequence[int]) -> str:
    return '[' + ', '.join(str(int(s)) for s in shape) + ']'


def dtype_name(x: Any) -> str:
    if is_tensor(x):
        return str(x.dtype).replace('torch.', '')
    return str(np.asarray(x).dtype) if not isinstance(x, np.ndarray) else str(x.dtype)


def shape_of(x: Any) -> Tuple[int, ...]:
    return tuple(int(s) for s in x.shape)


def require_array(name: str, x: Any) -> None:
    if not (isinstance(x, np.ndarray) or is_tensor(x)):
        raise Mast3rInputError(f'{name}: expected a numpy array or torch tensor, got {type(x).__name__}')


def require_no_grad(*pairs: Tuple[str, Any]) -> None:
    """Kernels compute no gradients: a tensor that needs one goes to MASt3R's own code."""
    torch = torch_module()
    if torch is None or not torch.is_grad_enabled():
        return
    for name, x in pairs:
        if is_tensor(x) and x.requires_grad:
            raise Unsupported(f'{name}: requires grad; scanstream computes no gradients')


def _js_number(v: float) -> str:
    # the CLI (TypeScript) prints non-finite values as NaN / Infinity / -Infinity
    if math.isnan(v):
        return 'NaN'
    if math.isinf(v):
        return 'Infinity' if v > 0 else '-Infinity'
    return repr(v)


def float32_input(name: str, x: Any) -> np.ndarray:
    """x as C-contiguous float32 host memory: in place when it already is, else one copy."""
    require_array(name, x)
    if is_tensor(x):
        dt = dtype_name(x)
        if dt not in ('float32', 'float64'):
            raise Mast3rInputError(f'{name}: dtype {dt} is not supported here, expected float32 or float64')
        t = x.detach()
        if t.device.type != 'cpu':
            t = t.cpu()
            stats.converted_bytes += t.numel() * t.element_size()
        arr = t.numpy()
    else:
        arr = x
        if arr.dtype not in (np.float32, np.float64):
            raise Mast3rInputError(f'{name}: dtype {arr.dtype} is not supported here, expected float32 or float64')
    if arr.dtype == np.float64 and strict.get():
        raise Unsupported(f'{name}: float64 would be computed in float32')
    if arr.dtype == np.float32 and arr.flags.c_contiguous and arr.flags.aligned:
        return arr
    out = np.ascontiguousarray(arr, dtype=np.float32)
    stats.converted_bytes += out.nbytes
    return out


def require_rank(name: str, x: Any, ranks: Sequence[int], what: str) -> None:
    if len(x.shape) not in ranks:
        raise Mast3rInputError(f'{name}: expected {what}, got shape {shape_str(x.shape)}')


def require_nonempty(name: str, x: Any) -> None:
    if int(np.prod(x.shape)) == 0:
        raise Mast3rInputError(f'{name}: is empty (shape {shape_str(x.shape)})')


def require_finite(name: str, arr: np.ndarray, what: str = 'descriptors') -> None:
    """Raises on the first NaN or ±Inf, with its index (as the CLI does)."""
    # one summing pass when all is well; the exact scan only when the sum is not finite (NaN/Inf, or overflow)
    with np.errstate(over='ignore', invalid='ignore'):
        total = float(np.add.reduce(arr, axis=None, dtype=np.float64))
    if math.isfinite(total):
        return
    bad = np.flatnonzero(~np.isfinite(arr.reshape(-1)))
    if bad.size == 0:
        return
    i = int(bad[0])
    idx = np.unravel_index(i, arr.shape)
    v = float(arr.reshape(-1)[i])
    raise Mast3rInputError(f"{name}: {_js_number(v)} at [{', '.join(str(int(k)) for k in idx)}]; {what} must be finite")


def positive_int(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or int(v) < minimum:
        raise Mast3rInputError(f'{name} must be an integer >= {minimum}, got {v!r}')
    return int(v)


def as_result(arr: np.ndarray, like: Any, dtype: Any = 'same') -> Any:
    """A result in the caller's kind: numpy stays numpy; a tensor gives a tensor on the caller's
    device (torch.from_numpy shares the array: no copy on the CPU). dtype 'same': the caller's float dtype."""
    if is_tensor(like):
        torch = torch_module()
        t = torch.from_numpy(arr)
        want = like.dtype if dtype == 'same' else dtype
        if want is not None and want != t.dtype and t.is_floating_point():
            t = t.to(want)
        if like.device.type != 'cpu':
            t = t.to(like.device)
        return t
    if dtype == 'same' and isinstance(like, np.ndarray) and like.dtype == np.float64 and arr.dtype == np.float32:
        return arr.astype(np.float64)
    return arr


class Binder:
    """Arrays bound to the buffers of one group of kernel calls.

    Where the backend runs none of the kernels, they run on its CPU fallback
    context with the arrays wrapped in place; where the backend's kernels read
    host memory (CPU, Metal, metal-emu) arrays are wrapped in place too; on
    mirrored memory (CUDA) inputs are copied in and outputs copied back."""

    def __init__(self, kernels: Sequence[str], ctx: Optional[Context] = None) -> None:
        base = ctx or default_context()
        self.ctx = base if any(base.supports(k) for k in kernels) else base.fallback_context()
        self._fallback = self.ctx is not base
        self._buffers: List[Buffer] = []
        self._outputs: List[Tuple[Buffer, np.ndarray]] = []

    def __enter__(self) -> 'Binder':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _wrap(self, arr: np.ndarray) -> Optional[Buffer]:
        if arr.nbytes == 0 or not (arr.flags.c_contiguous and arr.flags.aligned):
            return None
        b = self.ctx.wrap(arr.ctypes.data, arr.nbytes)
        if b is not None:
            stats.wrapped += 1
            self._buffers.append(b)
        return b

    def _copy_in(self, arr: np.ndarray) -> Buffer:
        b = self.scratch(max(arr.nbytes, 4))
        if arr.nbytes:
            ctypes.memmove(b.host, np.ascontiguousarray(arr).ctypes.data, arr.nbytes)
            b.upload(0, arr.nbytes)
            stats.copied_bytes += arr.nbytes
        return b

    def input(self, arr: np.ndarray) -> Buffer:
        return self._wrap(arr) or self._copy_in(arr)

    def output(self, arr: np.ndarray) -> Buffer:
        """A buffer the kernel writes; arr holds the result after finish()."""
        if arr.flags.writeable:
            b = self._wrap(arr)
            if b is not None:
                return b
        b = self.scratch(max(arr.nbytes, 4))
        self._outputs.append((b, arr))
        return b

    def inout(self, arr: np.ndarray) -> Buffer:
        b = self._wrap(arr) if arr.flags.writeable else None
        if b is not None:
            return b
        b = self._copy_in(arr)
        self._outputs.append((b, arr))
        return b

    def scratch(self, nbytes: int) -> Buffer:
        b = self.ctx.buffer(max(int(nbytes), 4))
        self._buffers.append(b)
        return b

    def read(self, b: Buffer, arr: np.ndarray, offset: int = 0) -> None:
        """Copies a buffer range into arr (after a download where memory is mirrored)."""
        if arr.nbytes == 0:
            return
        b.download(offset, arr.nbytes)
        ctypes.memmove(arr.ctypes.data, b.host + offset, arr.nbytes)
        stats.copied_bytes += arr.nbytes

    def write(self, b: Buffer, arr: np.ndarray, offset: int = 0) -> None:
        """Copies arr into a buffer range (and uploads it)."""
        if arr.nbytes == 0:
            return
        ctypes.memmove(b.host + offset, np.ascontiguousarray(arr).ctypes.data, arr.nbytes)
        b.upload(offset, arr.nbytes)
        stats.copied_bytes += arr.nbytes

    def sync_in(self, b: Buffer, arr: np.ndarray) -> None:
        """After arr changed: nothing where b wraps it, else copy arr[:] into b (and upload)."""
        if b.owned:
            self.write(b, arr)

    def sync_out(self, b: Buffer, arr: np.ndarray) -> None:
        """After a kernel wrote b: nothing where b wraps arr, else copy b into arr[:] (after a download)."""
        if b.owned:
            self.read(b, arr)

    def call(self, kernel: str, args: ctypes.Structure, *buffers: Buffer) -> None:
        self.ctx.call(kernel, args, buffers)
        if self._fallback:
            # the backend lacks the kernel: it ran on the CPU over the arrays themselves (no bytes moved)
            stats.fallback_calls += 1
            if kernel not in stats.fallback_kernels:
                stats.fallback_kernels.append(kernel)

    def finish(self) -> None:
        for b, arr in self._outputs:
            self.read(b, arr)
        self._outputs.clear()

    def close(self) -> None:
        for b in self._buffers:
            b.destroy()
        self._buffers.clear()
        self._outputs.clear()
