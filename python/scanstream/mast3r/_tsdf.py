"""The TSDF depth refinement of MASt3R's cloud_opt/tsdf_optimizer.py (TSDFPostProcess._refine_depths_with_TSDF)."""

from __future__ import annotations

import math
from typing import Any, Tuple

import numpy as np

from .. import _abi
from .._arrays import (Binder, Mast3rInputError, as_result, float32_input, positive_int, require_array, require_no_grad,
                       require_nonempty, require_rank, shape_of, shape_str, torch_module)


def pack_cameras(cam2w: Any, K: Any, images: int) -> np.ndarray:
    """cam→world [N, 4, 4] or [N, 3, 4] and pinhole K [N, 3, 3] as 16 floats per image (3×4 pose, fx, fy, cx, cy)."""
    require_array('cam2w', cam2w)
    require_array('K', K)
    ps = shape_of(cam2w)
    if not (len(ps) == 3 and ps[0] == images and ps[1] in (3, 4) and ps[2] == 4):
        raise Mast3rInputError(f'cam2w: expected cam→world [{images}, 4, 4] or [{images}, 3, 4], got {shape_str(ps)}')
    if shape_of(K) != (images, 3, 3):
        raise Mast3rInputError(f'K: expected [{images}, 3, 3], got {shape_str(shape_of(K))}')
    p = float32_input('cam2w', cam2w)
    k = float32_input('K', K).reshape(images, 9)
    out = np.empty((images, 16), np.float32)
    out[:, :12] = p[:, :3, :].reshape(images, 12)
    for i in range(images):
        if not np.all(np.isfinite(out[i, :12])):
            raise Mast3rInputError(f'cam2w[{i}]: not finite')
        kk = k[i]
        if kk[1] != 0 or kk[3] != 0 or kk[6] != 0 or kk[7] != 0 or kk[8] != 1:
            raise Mast3rInputError(f"K[{i}]: expected a pinhole [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], got [{', '.join(f'{v:g}' for v in kk)}]")
        if not (kk[0] != 0 and math.isfinite(kk[0]) and kk[4] != 0 and math.isfinite(kk[4])):
            raise Mast3rInputError(f'K[{i}]: fx and fy must be finite and non-zero')
        out[i, 12:] = (kk[0], kk[4], kk[2], kk[5])
    return out


def seed_words(seed: Any) -> Tuple[int, int]:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise Mast3rInputError(f'seed must be an integer, got {seed!r}')
    s = int(seed)
    if not 0 <= s < 1 << 64:
        raise Mast3rInputError(f'seed must be in [0, 2^64), got {s}')
    return s & 0xFFFFFFFF, s >> 32


def refine_depths_tsdf(depths: Any, confs: Any, cam2w: Any, K: Any, TSDF_filtering_thresh: float, nsamples: int = 1000,
                       seed: int = 0) -> Any:
    """MASt3R's TSDF depth refinement over N images of one size: depths, confs [N, H, W];
    cam2w [N, 4, 4] or [N, 3, 4]; pinhole K [N, 3, 3]; τ = TSDF_filtering_thresh > 0.

    Per pixel, nsamples candidate depths d + (n − 1)·τ, each scored by the
    confidence-weighted TSDF over every image; the one nearest the zero level is
    kept (the depth stays where every candidate scores |TSDF| = τ). n ~ N(0, 1)
    from Philox4x32-10 keyed by seed: the result depends on seed only, not on the
    backend or thread count (MASt3R draws from torch.randn). Returns [N, H, W] in
    depths' kind."""
    require_array('depths', depths)
    require_array('confs', confs)
    require_rank('depths', depths, [3], 'depths [N, H, W]')
    require_nonempty('depths', depths)
    require_no_grad(('depths', depths), ('confs', confs), ('cam2w', cam2w), ('K', K))
    N, H, W = shape_of(depths)
    if shape_of(confs) != (N, H, W):
        raise Mast3rInputError(f'confs: expected {shape_str((N, H, W))} like depths, got {shape_str(shape_of(confs))}')
    try:
        tau = float(TSDF_filtering_thresh)
    except (TypeError, ValueError):
        tau = float('nan')
    if not (tau > 0 and math.isfinite(tau)):
        raise Mast3rInputError(f'TSDF_filtering_thresh must be a finite number > 0, got {TSDF_filtering_thresh!r}')
    samples = positive_int('nsamples', nsamples)
    lo, hi = seed_words(seed)
    d = float32_input('depths', depths)
    c = float32_input('confs', confs)
    cams = pack_cameras(cam2w, K, N)
    out = np.empty((N, H, W), np.float32)
    with Binder(['ss_mast3r_refine_depths_tsdf']) as bd:
        args = _abi.ss_mast3r_refine_depths_tsdf_args(images=N, width=W, height=H, samples=samples, seed_lo=lo, seed_hi=hi,
                                                      flags=0, tau=tau)
        bd.call('ss_mast3r_refine_depths_tsdf', args, bd.input(d), bd.input(c), bd.input(cams), bd.output(out))
        bd.finish()
    return as_result(out, depths)


def random_seed() -> int:
    """A 64-bit seed drawn from torch's default generator (torch.manual_seed makes it reproducible), else numpy's."""
    torch = torch_module()
    if torch is not None:
        return int(torch.randint(0, 2 ** 62, (1,)).item())
    return int(np.random.randint(0, 2 ** 62, dtype=np.int64))

