"""dust3r's depthmap_to_pts3d and geotrf (dust3r/utils/geometry.py, which MASt3R imports) on the point-map kernels.

The whole computation is in the kernels (rounded as MASt3R's float32 code), as in
src/mast3r/pointmaps.ts, so results equal the TypeScript API's."""

from __future__ import annotations

import math
from typing import Any, List, Tuple, Union

import numpy as np

from .. import _abi
from .._arrays import (Binder, Mast3rInputError, Unsupported, as_result, float32_input, is_tensor, require_array,
                       require_no_grad, require_nonempty, require_rank, shape_of, shape_str)

Pair = Tuple[float, float]


def _host(x: Any) -> np.ndarray:
    """A small parameter array (focals, principal points) as float64 on the host."""
    if is_tensor(x):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype.kind not in 'fiu':
        raise TypeError
    return arr.astype(np.float64)


def _focals(v: Any, B: int, H: int, W: int) -> List[Pair]:
    """One (fx, fy) per image from a number, (fx, fy), [B], [B, 2], or dust3r's per-pixel [B, H, W] / [B, 1|2, H, W]."""
    name = 'pseudo_focal'
    expected = f'a number, (fx, fy), [{B}], [{B}, 2], [{B}, {H}, {W}] or [{B}, 1|2, {H}, {W}]'
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise Mast3rInputError(f'{name}: expected 2 values (x, y), got {len(v)}')
        try:
            fx, fy = float(v[0]), float(v[1])
        except (TypeError, ValueError):
            raise Mast3rInputError(f'{name}: expected numbers (fx, fy), got {v!r}') from None
        return [(fx, fy)] * B
    try:
        a = _host(v)
    except TypeError:
        raise Mast3rInputError(f'{name}: expected {expected}, got {type(v).__name__}') from None
    shape = a.shape
    if a.ndim == 0:
        return [(float(a), float(a))] * B
    if a.ndim == 1 and shape[0] == B:
        return [(float(f), float(f)) for f in a]
    if a.ndim == 2 and shape == (B, 2):
        return [(float(f[0]), float(f[1])) for f in a]
    if a.ndim == 3 and shape == (B, H, W):
        a = a[:, None]
        shape = a.shape
    if a.ndim == 4 and shape[0] == B and shape[1] in (1, 2) and shape[2:] == (H, W):
        flat = a.reshape(B, shape[1], -1)
        if not np.all(flat == flat[:, :, :1]):
            raise Unsupported(f'{name}: varies within an image; scanstream takes one focal per image')
        return [(float(f[0, 0]), float(f[-1, 0])) for f in flat]
    raise Mast3rInputError(f'{name}: expected {expected}, got {shape_str(shape)}')


def _principal_points(v: Any, B: int) -> List[Pair]:
    name = 'pp'
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(c, (int, float, np.number)) for c in v):
        return [(float(v[0]), float(v[1]))] * B
    try:
        a = _host(v)
    except TypeError:
        raise Mast3rInputError(f'{name}: expected (cx, cy) or [{B}, 2], got {type(v).__name__}') from None
    if a.shape == (2,):
        return [(float(a[0]), float(a[1]))] * B
    if a.shape != (B, 2):
        raise Mast3rInputError(f'{name}: expected (cx, cy) or [{B}, 2], got {shape_str(a.shape)}')
    return [(float(c[0]), float(c[1])) for c in a]


def depthmap_to_pts3d(depth: Any, pseudo_focal: Any, pp: Any = None, **_: Any) -> Any:
    """dust3r's depthmap_to_pts3d: X = d·(u − cx)/fx, Y = d·(v − cy)/fy, Z = d for every pixel.

    depth [B, H, W] (or [H, W]); pseudo_focal a number, (fx, fy), [B], [B, 2], or
    dust3r's per-pixel maps when constant per image; pp (cx, cy) or [B, 2], default
    ((W − 1)/2, (H − 1)/2). Returns float32 [B, H, W, 3] ([H, W, 3]) as dust3r does,
    a tensor when depth is one (on its device)."""
    require_array('depth', depth)
    if len(depth.shape) == 4:
        raise Unsupported(f'depth: [B, H, W, n] depth stacks are not supported, got {shape_str(depth.shape)}')
    require_rank('depth', depth, [2, 3], 'a [H, W] or [B, H, W] depth map')
    require_nonempty('depth', depth)
    require_no_grad(('depth', depth), ('pseudo_focal', pseudo_focal), ('pp', pp))
    d = float32_input('depth', depth)
    single = d.ndim == 2
    B, H, W = (1,) + d.shape if single else d.shape
    d = d.reshape(B, H, W)
    f = _focals(pseudo_focal, B, H, W)
    c = [((W - 1) / 2, (H - 1) / 2)] * B if pp is None else _principal_points(pp, B)
    for fx, fy in f:
        if not (math.isfinite(fx) and math.isfinite(fy)) or fx == 0 or fy == 0:
            raise Mast3rInputError(f'pseudo_focal: must be finite and non-zero, got ({fx:g}, {fy:g})')
    intrinsics = np.array([(fx, fy, cx, cy) for (fx, fy), (cx, cy) in zip(f, c)], np.float32)
    out = np.empty((B, H, W, 3), np.float32)
    valid = np.empty((B, H, W), np.uint8)
    with Binder(['ss_mast3r_depthmap_to_pts3d']) as bd:
        # MASt3R reports d·(u − cx)/fx for invalid depths too: the kernel computes every pixel
        args = _abi.ss_mast3r_depthmap_to_pts3d_args(width=W, height=H, batch=B, flags=_abi.SS_FLAG_POINTS_KEEP_INVALID)
        bd.call('ss_mast3r_depthmap_to_pts3d', args, bd.input(d), bd.input(intrinsics), bd.output(out), bd.output(valid))
        bd.finish()
    return as_result(out[0] if single else out, depth, dtype=None)


def _norm_factor(norm: Any) -> float:
    if isinstance(norm, bool):
        return 1.0 if norm else 0.0
    try:
        v = float(norm)
    except (TypeError, ValueError):
        raise Mast3rInputError(f'norm: expected a bool or a number, got {norm!r}') from None
    return v


def geotrf(Trf: Any, pts: Any, ncol: Optional[int] = None, norm: Union[bool, float] = False) -> Any:
    """dust3r's geotrf: Trf (d+1)×(d+1) → pts @ R.T + t; d×d → pts @ Trf.T; Trf [B, n, n] with pts [B, ..., d].

    norm: divide by the last coordinate of the product (w for a (d+1)×(d+1) Trf),
    then scale by norm when it is not 1; ncol: the columns kept (d + 1 keeps w).
    Points of 2 or 3 coordinates. Returns Trf's kind: a tensor of Trf's dtype for a
    tensor Trf, else numpy (float64 when either input is float64, computed in float32)."""
    require_array('Trf', Trf)
    # dust3r brings pts to Trf's kind (and, for a tensor Trf, to its dtype)
    if is_tensor(Trf):
        torch = __import__('torch')
        pts = torch.as_tensor(pts, dtype=Trf.dtype)
    else:
        pts = pts.detach().cpu().numpy() if is_tensor(pts) else np.asarray(pts)
        if pts.dtype.kind in 'iu':
            pts = pts.astype(np.float32)
    if len(Trf.shape) > 3:
        raise Unsupported(f'Trf: more than one batch dimension is not supported, got {shape_str(Trf.shape)}')
    require_rank('Trf', Trf, [2, 3], 'a [n, n] or [B, n, n] transform')
    require_rank('pts', pts, range(1, 33), 'points [..., d]')
    require_no_grad(('Trf', Trf), ('pts', pts))
    pshape = shape_of(pts)
    tshape = shape_of(Trf)
    dim = pshape[-1]
    if dim not in (2, 3):
        raise Unsupported(f'pts: last dimension must be 2 or 3, got {shape_str(pshape)}')
    n = tshape[-1]
    if tshape[-2] != n or n not in (dim, dim + 1):
        raise Unsupported(f'Trf: expected [{dim + 1}, {dim + 1}] or [{dim}, {dim}] for {dim}-d points, got {shape_str(tshape)}')
    homog = n == dim + 1
    cols = dim if ncol is None else int(ncol)
    if not 1 <= cols <= (dim + 1 if homog else dim):
        raise Unsupported(f'ncol: {ncol} columns of a {dim}-d transform are not supported')
    batched = len(tshape) == 3
    B = tshape[0] if batched else 1
    if batched and (len(pshape) < 2 or pshape[0] != B):
        raise Mast3rInputError(f'pts: batch of {shape_str(pshape)} does not match Trf {shape_str(tshape)}')
    scale = _norm_factor(norm)
    if not math.isfinite(scale):
        raise Mast3rInputError(f'norm: must be a boolean or a finite number, got {norm!r}')
    t = float32_input('Trf', Trf).reshape(B, n, n)
    p = float32_input('pts', pts)
    count = p.size // dim
    per = count // B
    out = np.empty(pshape[:-1] + (dim,), np.float32)
    if per > 0xFFFFFFFF:
        raise Mast3rInputError(f'pts: {count} points is too many for one call')
    if per > 0:
        # MASt3R divides by w = T[d]·(p, 1) for a (d+1)×(d+1) Trf and by the last coordinate of pts @ Trf.T for d×d
        divide = (_abi.SS_GEOTRF_NO_DIVIDE if scale == 0 else
                  _abi.SS_GEOTRF_DIVIDE_W if homog else _abi.SS_GEOTRF_DIVIDE_LAST)
        with Binder(['ss_geotrf']) as bd:
            src = bd.input(p)
            dst = bd.output(out)
            for b in range(B):
                h = np.eye(dim + 1, dtype=np.float32)
                if homog:
                    h[:] = t[b]
                else:
                    h[:dim, :dim] = t[b]
                args = _abi.ss_geotrf_args(count=per, dim=dim, normalize=divide, first=b * per, scale=scale or 1.0, flags=0)
                args.t[:h.size] = h.reshape(-1).tolist()
                # one call per transform over its slice of the same buffers
                bd.call('ss_geotrf', args, src, dst)
            bd.finish()
    if cols > dim:
        # the homogeneous coordinate itself (ncol = d + 1): w, or w / w · norm once normalised
        pb = p.reshape(B, per, dim).astype(np.float64)
        h64 = t.astype(np.float64)
        w = h64[:, None, dim, dim] + np.einsum('bk,bpk->bp', h64[:, dim, :dim], pb)
        if scale != 0:
            with np.errstate(divide='ignore', invalid='ignore'):
                w = w / w * scale
        out = np.concatenate([out, w.astype(np.float32).reshape(pshape[:-1] + (1,))], axis=-1)
    elif cols < dim:
        out = np.ascontiguousarray(out[..., :cols])
    if is_tensor(Trf):
        return as_result(out, Trf)
    want = np.result_type(Trf.dtype, pts.dtype, np.float32)
    return out if want == np.float32 else out.astype(want)
