"""MASt3R's matchers (mast3r/fast_nn.py) on scanstream's exact nearest-neighbour kernels.

The iteration of fast_reciprocal_NNs is src/mast3r/fastReciprocalNN.ts's, in
numpy: each half-iteration is one native call over the distinct pixels of the
seeds still moving whose answer is not known yet (a pixel's nearest neighbour
never changes), every query exact over the whole other map.
"""

from __future__ import annotations

from typing import Any, Dict, Optional, Tuple, Union

import numpy as np

from .. import _abi
from .._arrays import (Binder, Mast3rInputError, Unsupported, float32_input, is_tensor, positive_int, require_array,
                       require_finite, require_nonempty, require_rank, shape_str)

DIST = {'dot': _abi.SS_DIST_DOT, 'l2': _abi.SS_DIST_L2}


def _dist(dist: Any) -> int:
    if not isinstance(dist, str) or dist not in DIST:
        raise Mast3rInputError(f"dist must be 'dot' or 'l2', got '{dist}'")
    return DIST[dist]


def descriptor_matrix(name: str, x: Any) -> np.ndarray:
    """An [N, D] descriptor matrix: float, finite, non-empty."""
    require_array(name, x)
    require_rank(name, x, [2], 'an [N, D] descriptor matrix')
    require_nonempty(name, x)
    arr = float32_input(name, x)
    require_finite(name, arr)
    return arr


def descriptor_map(name: str, x: Any) -> np.ndarray:
    """An [H, W, D] descriptor map: float, finite, non-empty."""
    require_array(name, x)
    require_rank(name, x, [3], 'an [H, W, D] descriptor map')
    require_nonempty(name, x)
    arr = float32_input(name, x)
    require_finite(name, arr)
    h, w = arr.shape[:2]
    if h * w > 0x7FFFFFFF:
        raise Mast3rInputError(f'{name}: {h}x{w} pixels is too many')
    return arr


def bruteforce_reciprocal_nns(A: Any, B: Any, device: Any = 'cuda', block_size: Optional[int] = None,
                              dist: str = 'l2') -> Tuple[np.ndarray, np.ndarray]:
    """MASt3R's bruteforce_reciprocal_nns: (nn_A, nn_B), int64 numpy arrays as MASt3R returns them.

    nn_A[i] is the index in B of A[i]'s nearest neighbour (dist 'l2': min ‖a−b‖,
    'dot': max a·b), nn_B[j] the index in A of B[j]'s; exact (float32 near-ties are
    re-ranked in float64), ties to the lowest index. Memory O(N + M): block_size,
    MASt3R's tile size, changes nothing here. device is accepted for MASt3R's
    signature; the backend is SCANSTREAM_BACKEND's (tensors on a GPU are read once
    into host memory)."""
    d = _dist(dist)
    a = descriptor_matrix('A', A)
    b = descriptor_matrix('B', B)
    if a.shape[1] != b.shape[1]:
        raise Mast3rInputError(f'A and B must have the same descriptor size D: A is {shape_str(a.shape)}, B is {shape_str(b.shape)}')
    if block_size is not None:
        positive_int('block_size', block_size)
    n, dim = a.shape
    m = b.shape[0]
    nn_a = np.empty(n, np.int32)
    nn_b = np.empty(m, np.int32)
    with Binder(['ss_mast3r_reciprocal_nn']) as bd:
        args = _abi.ss_mast3r_reciprocal_nn_args(n=n, m=m, dim=dim, dist=d, block=0, flags=0)
        bd.call('ss_mast3r_reciprocal_nn', args, bd.input(a), bd.input(b), bd.output(nn_a), bd.output(nn_b))
        bd.finish()
    return nn_a.astype(np.int64), nn_b.astype(np.int64)


def _index_ints(name: str, x: Any) -> np.ndarray:
    """MASt3R's merge_corres asserts int32 indices."""
    if is_tensor(x):
        x = x.detach().cpu().numpy()
    if not isinstance(x, np.ndarray):
        raise Mast3rInputError(f'{name}: expected a numpy array or torch tensor, got {type(x).__name__}')
    if x.dtype != np.int32:
        raise Mast3rInputError(f'{name}: dtype {x.dtype} is not supported here, expected int32')
    require_rank(name, x, [1], 'a 1-d array of flat pixel indices')
    return x


def _unravel(name: str, idx: np.ndarray, shape: Any) -> Tuple[np.ndarray, np.ndarray]:
    try:
        h, w = (int(s) for s in shape)
    except (TypeError, ValueError):
        raise Mast3rInputError(f'{name}: the image shape must be (H, W), got {shape!r}') from None
    if idx.size:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= h * w:
            bad = int(np.flatnonzero((idx < 0) | (idx >= h * w))[0])
            raise Mast3rInputError(f'{name}: index {int(idx[bad])} at {bad} is outside the {w}x{h} image')
    y, x = np.divmod(idx.astype(np.intp), w)
    return y, x


def merge_corres(idx1: Any, idx2: Any, shape1: Any = None, shape2: Any = None, ret_xy: Union[bool, str] = True,
                 ret_index: bool = False) -> Tuple[Any, ...]:
    """MASt3R's merge_corres: unique (idx1, idx2) pairs sorted by idx1 then idx2.

    ret_xy true: (x, y) int64 [N, 2] per side ('y_x': a (y, x) tuple of arrays);
    false: the int32 flat indices. ret_index: also each pair's first occurrence."""
    a = _index_ints('idx1', idx1)
    b = _index_ints('idx2', idx2)
    if a.shape != b.shape:
        raise Mast3rInputError(f'idx1 and idx2 must have the same length: idx1 is {shape_str(a.shape)}, idx2 is {shape_str(b.shape)}')
    # one int64 per pair, idx1 in the high word: sorting it sorts by idx1 then idx2 (MASt3R's trick)
    key = (a.astype(np.int64) << 32) | (b.astype(np.int64) & 0xFFFFFFFF)
    if ret_index:
        uniq, index = np.unique(key, return_index=True)
    else:
        uniq, index = np.unique(key), None
    i1 = (uniq >> 32).astype(np.int32)
    i2 = (uniq & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    out1: Any = i1
    out2: Any = i2
    if ret_xy:
        if not shape1 or not shape2:
            raise Mast3rInputError('shape1 and shape2: both image shapes (H, W) are needed when ret_xy is set')
        y1, x1 = _unravel('idx1', i1, shape1)
        y2, x2 = _unravel('idx2', i2, shape2)
        if ret_xy == 'y_x':
            out1, out2 = (y1, x1), (y2, x2)
        else:
            out1, out2 = np.stack([x1, y1], axis=1), np.stack([x2, y2], axis=1)
    if ret_index:
        return out1, out2, index
    return out1, out2


def desc_index_floats(width: int, height: int, dim: int) -> int:
    """Float count of ss_mast3r_desc_index's output (mast3r_index_floats in native/kernels/mast3r_nn.h)."""
    s = -(-width // 32) * -(-height // 32)
    s16 = -(-s // 16) * 16
    d4 = -(-dim // 4)
    return 16 + (dim + 2) * s16 + s * (dim + 2) * 16 + s * 16 * 64 * (dim + 1) + 64 * s * 16 * (d4 + 1)


# matcher options MASt3R forwards to its KD-tree or cdistMatcher that do not change the answer
_HARMLESS = {'block_size', 'workers'}


def _matcher_dist(matcher_kw: Dict[str, Any]) -> str:
    for key, value in matcher_kw.items():
        if key == 'dist' or key in _HARMLESS:
            continue
        if key == 'k' and value == 1:
            continue
        raise Unsupported(f'{key}: matcher option {key}={value!r} is not supported by scanstream')
    if 'block_size' in matcher_kw and matcher_kw['block_size'] is not None:
        positive_int('block_size', matcher_kw['block_size'])
    # cdistMatcher defaults to 'l2'; the KD-tree path is Euclidean too
    dist = matcher_kw.get('dist', 'l2')
    _dist(dist)
    return str(dist)


def _explicit_seeds(seeds: Any, height: int, width: int) -> np.ndarray:
    name = 'subsample_or_initxy1'
    try:
        xs, ys = seeds
    except (TypeError, ValueError):
        raise Mast3rInputError(f'{name}: expected an int subsample or seeds (x, y), got {type(seeds).__name__}') from None
    cols = []
    for what, v in (('x', xs), ('y', ys)):
        if is_tensor(v):
            v = v.detach().cpu().numpy()
        v = np.asarray(v)
        if v.dtype.kind not in 'iu':
            raise Mast3rInputError(f'{name}: {what} values must be integers, got dtype {v.dtype}')
        cols.append(v.reshape(-1).astype(np.int64))
    x, y = cols
    if x.size != y.size:
        raise Mast3rInputError(f'{name}: {x.size} x values but {y.size} y values')
    bad = np.flatnonzero((x < 0) | (x >= width) | (y < 0) | (y >= height))
    if bad.size:
        i = int(bad[0])
        raise Mast3rInputError(f'{name}: ({int(x[i])}, {int(y[i])}) at {i} is not a pixel of the {width}x{height} map pts1')
    return np.unique(x + width * y).astype(np.int32)


def fast_reciprocal_NNs(pts1: Any, pts2: Any, subsample_or_initxy1: Any = 8, ret_xy: Union[bool, str] = True,
                        pixel_tol: float = 0, ret_basin: bool = False, device: Any = 'cuda',
                        **matcher_kw: Any) -> Tuple[Any, ...]:
    """MASt3R's fast_reciprocal_NNs on [H, W, D] descriptor maps (numpy or torch).

    An int subsample (with pixel_tol 0): seeds on the grid S//2, S//2 + S, … and
    at most 10 iterations; seeds (x, y): those pixels and one iteration, and with
    pixel_tol > 0 a seed matches when its round trip lands within pixel_tol pixels
    of it. The distance is matcher_kw's dist ('dot' as MASt3R's matching calls it),
    else 'l2' (MASt3R's default KD-tree and cdistMatcher are Euclidean). Returns
    what merge_corres returns (numpy), plus the basin map with ret_basin. device is
    accepted for MASt3R's signature; the backend is SCANSTREAM_BACKEND's."""
    dist = _matcher_dist(matcher_kw)
    m1 = descriptor_map('pts1', pts1)
    m2 = descriptor_map('pts2', pts2)
    if m1.shape[2] != m2.shape[2]:
        raise Mast3rInputError(
            f'pts1 and pts2 must have the same descriptor size D: pts1 is {shape_str(m1.shape)}, pts2 is {shape_str(m2.shape)}')
    try:
        tol = float(pixel_tol)
    except (TypeError, ValueError):
        raise Mast3rInputError(f'pixel_tol must be a number >= 0, got {pixel_tol!r}') from None
    if not tol >= 0 or tol == float('inf'):
        raise Mast3rInputError(f'pixel_tol must be a number >= 0, got {pixel_tol!r}')
    H1, W1, D = m1.shape
    H2, W2, _ = m2.shape
    grid = isinstance(subsample_or_initxy1, (int, np.integer)) and not isinstance(subsample_or_initxy1, bool)
    if grid and tol == 0:
        S = positive_int('subsample_or_initxy1', subsample_or_initxy1)
        ys, xs = np.mgrid[S // 2:H1:S, S // 2:W1:S].reshape(2, -1)
        xy1 = np.unique(xs + W1 * ys).astype(np.int32)
        max_iter = 10
    elif grid:
        raise Mast3rInputError(f'subsample_or_initxy1: pixel_tol > 0 needs seeds (x, y), got the subsample {subsample_or_initxy1}')
    else:
        xy1 = _explicit_seeds(subsample_or_initxy1, H1, W1)
        max_iter = 1

    n = int(xy1.size)
    xy2 = np.full(n, -1, np.int32)
    old1 = xy1.copy()
    old2 = xy2.copy()
    notyet = np.ones(n, bool)
    basin = np.full(H1 * W1 + 1, -1, np.int32) if ret_basin else None
    d = DIST[dist]
    if n > 0:
        kernels = ['ss_mast3r_desc_index', 'ss_mast3r_nn_query']
        with Binder(kernels) as bd:
            maps = []
            for m in (m1, m2):
                h, w, _ = m.shape
                mb = bd.input(m)
                ib = bd.scratch(desc_index_floats(w, h, D) * 4)
                bd.call('ss_mast3r_desc_index', _abi.ss_mast3r_desc_index_args(width=w, height=h, dim=D, dist=d), mb, ib)
                maps.append((mb, ib, h, w))
            q = np.empty(n, np.int32)
            o = np.full(n, -1, np.int32)
            qb = bd.input(q)
            ob = bd.inout(o)
            # a pixel's nearest neighbour never changes: each direction remembers its answers
            known = (np.full(H1 * W1, -1, np.int32), np.full(H2 * W2, -1, np.int32))

            def half(src: int, cur: np.ndarray, out: np.ndarray) -> None:
                db = 1 - src
                sel = np.flatnonzero(notyet)
                pix = cur[sel]
                uniq, first = np.unique(pix, return_index=True)
                fresh = known[src][uniq] < 0
                ask = uniq[fresh]
                count = int(ask.size)
                if count:
                    q[:count] = ask
                    # each query's current answer goes along as a hint (it only speeds the search up)
                    o[:count] = out[sel[first[fresh]]]
                    bd.sync_in(qb, q[:count])
                    bd.sync_in(ob, o[:count])
                    sm, _, sh, sw = maps[src]
                    dm, di, dh, dw = maps[db]
                    args = _abi.ss_mast3r_nn_query_args(count=count, width=sw, height=sh, dim=D, db_width=dw, db_height=dh,
                                                        dist=d, flags=_abi.SS_FLAG_HINTS)
                    bd.call('ss_mast3r_nn_query', args, sm, qb, dm, di, ob)
                    bd.sync_out(ob, o[:count])
                    known[src][ask] = o[:count]
                out[sel] = known[src][pix]

            niter = 0
            while notyet.any():
                half(0, xy1, xy2)
                if not ret_basin:
                    notyet &= old2 != xy2
                half(1, xy2, xy1)
                if basin is not None:
                    basin[old1[notyet]] = xy1[notyet]
                notyet &= old1 != xy1
                niter += 1
                if niter >= max_iter:
                    break
                old2[:] = xy2
                old1[:] = xy1

    if tol > 0:
        oy, ox = np.divmod(old1.astype(np.int64), W1)
        ny, nx = np.divmod(xy1.astype(np.int64), W1)
        converged = np.sqrt((oy - ny) ** 2 + (ox - nx) ** 2) < tol
        if not grid:
            xy1 = old1  # the seeds themselves are reported
    else:
        converged = ~notyet
    out1, out2 = merge_corres(xy1[converged], xy2[converged], (H1, W1), (H2, W2), ret_xy=ret_xy)
    if ret_basin:
        return out1, out2, basin
    return out1, out2
