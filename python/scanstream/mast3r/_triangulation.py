"""MASt3R's batched_triangulate and matches_to_depths (mast3r/cloud_opt/triangulation.py).

matches_to_depths is one native call, as in src/mast3r/triangulate.ts: the host
packs the cameras' projections (in the same float64 order), the kernel
triangulates each view's match and averages per pixel, so results equal the
TypeScript API's."""

from __future__ import annotations

import math
from typing import Any, Sequence, Tuple

import numpy as np

from .. import _abi
from .._arrays import (Binder, Mast3rInputError, as_result, float32_input, require_array, require_no_grad,
                       require_nonempty, require_rank, shape_of, shape_str)


def _triangulate(p: np.ndarray, m: np.ndarray) -> np.ndarray:
    B, Nc, Np, _ = p.shape
    out = np.empty((B, Np, 3), np.float32)
    with Binder(['ss_mast3r_triangulate']) as bd:
        bd.call('ss_mast3r_triangulate', _abi.ss_mast3r_triangulate_args(batch=B, cams=Nc, points=Np),
                bd.input(p), bd.input(m), bd.output(out))
        bd.finish()
    return out


def batched_triangulate(pts2d: Any, proj_mats: Any) -> Any:
    """MASt3R's batched_triangulate: pts2d [B, Ncams, Npts, 2], proj_mats [B, Ncams, 3, 4] → [B, Npts, 3].

    The least-squares solution of the rows P0 − x·P2, P1 − y·P2 (w = 1,
    unweighted; Householder QR in float64); NaN for non-finite or rank-deficient
    points. Returns pts2d's kind and dtype."""
    require_array('pts2d', pts2d)
    require_array('proj_mats', proj_mats)
    require_rank('pts2d', pts2d, [4], 'pts2d [B, Ncams, Npts, 2]')
    require_rank('proj_mats', proj_mats, [4], 'proj_mats [B, Ncams, 3, 4]')
    require_nonempty('pts2d', pts2d)
    require_no_grad(('pts2d', pts2d), ('proj_mats', proj_mats))
    B, Nc, Np, two = shape_of(pts2d)
    if two != 2:
        raise Mast3rInputError(f'pts2d: last dimension must be 2, got {shape_str(pts2d.shape)}')
    if shape_of(proj_mats) != (B, Nc, 3, 4):
        raise Mast3rInputError(
            f'proj_mats: expected [{B}, {Nc}, 3, 4] to match pts2d {shape_str(pts2d.shape)}, got {shape_str(proj_mats.shape)}')
    if Nc > 64:
        raise Mast3rInputError(f'pts2d: at most 64 cameras per point, got {Nc}')
    p = float32_input('pts2d', pts2d)
    m = float32_input('proj_mats', proj_mats)
    return as_result(_triangulate(p, m), pts2d)


def _cameras(name: str, x: Any, B: int, cams: int, rows: Sequence[int], cols: int) -> np.ndarray:
    require_array(name, x)
    s = shape_of(x)
    if not (len(s) == 4 and s[0] == B and s[1] == cams and s[2] in rows and s[3] == cols):
        raise Mast3rInputError(f"{name}: expected [{B}, {cams}, {' or '.join(str(r) for r in rows)}, {cols}], got {shape_str(s)}")
    return float32_input(name, x)


def matches_to_depths(intrinsics: Any, extrinsics: Any, matches: Any, batchsize: int = 16,
                      min_num_valids_ratio: float = .3) -> Tuple[Any, Any, Any]:
    """MASt3R's matches_to_depths: intrinsics [B, Nv+1, 3, 3], world→camera extrinsics
    [B, Nv+1, 3 or 4, 4] (camera 0 the reference), matches [B, Nv, H, W, 5] =
    (x1, y1, x2, y2, conf) of reference pixel ↔ view v.

    Triangulates each pair, averages the views weighted by confidence ignoring NaN
    (normaliser ≤ 1e-5 → 1), NaN where ≤ ⌊ratio·Nv⌋ views are valid; returns
    (points [B, H, W, 3], depths z in the reference camera [B, H, W], summed
    confidences [B, H, W]) in matches' kind. batchsize (MASt3R's memory bound)
    changes nothing here."""
    require_array('matches', matches)
    require_rank('matches', matches, [5], 'matches [B, Nv, H, W, 5]')
    require_nonempty('matches', matches)
    require_no_grad(('intrinsics', intrinsics), ('extrinsics', extrinsics), ('matches', matches))
    B, Nv, H, W, five = shape_of(matches)
    if five != 5:
        raise Mast3rInputError(f'matches: last dimension must be 5 (x1, y1, x2, y2, conf), got {shape_str(matches.shape)}')
    if Nv > 64:
        raise Mast3rInputError(f'matches: at most 64 views, got {Nv}')
    k = _cameras('intrinsics', intrinsics, B, Nv + 1, [3], 3).astype(np.float64)
    e = _cameras('extrinsics', extrinsics, B, Nv + 1, [3, 4], 4)
    try:
        ratio = float(min_num_valids_ratio)
    except (TypeError, ValueError):
        ratio = float('nan')
    if not (math.isfinite(ratio) and ratio >= 0):
        raise Mast3rInputError(f'min_num_valids_ratio must be a finite number >= 0, got {min_num_valids_ratio!r}')
    mt = float32_input('matches', matches)

    # cams per batch element: P = K·E[:3] of the reference camera and of each view (three products summed
    # left to right in float64, as the TypeScript API packs them), then the reference camera's E row 2
    e64 = e.astype(np.float64)
    proj = np.zeros((B, Nv + 1, 3, 4))
    for t in range(3):
        proj = proj + k[:, :, :, t, None] * e64[:, :, None, t, :]
    cams = np.empty((B, (Nv + 1) * 12 + 4), np.float32)
    cams[:, :(Nv + 1) * 12] = proj.reshape(B, -1)
    cams[:, (Nv + 1) * 12:] = e[:, 0, 2]
    points = np.empty((B, H, W, 3), np.float32)
    depths = np.empty((B, H, W), np.float32)
    confs = np.empty((B, H, W), np.float32)
    with Binder(['ss_mast3r_matches_to_depths']) as bd:
        args = _abi.ss_mast3r_matches_to_depths_args(batch=B, views=Nv, width=W, height=H, min_valid=math.floor(Nv * ratio))
        bd.call('ss_mast3r_matches_to_depths', args, bd.input(mt), bd.input(cams), bd.output(points), bd.output(depths), bd.output(confs))
        bd.finish()
    return as_result(points, matches), as_result(depths, matches), as_result(confs, matches)
