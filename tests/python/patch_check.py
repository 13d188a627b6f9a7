#!/usr/bin/env python3
"""patch() / unpatch() on stand-in `mast3r` and `dust3r` packages laid out as MASt3R's are.

The stand-ins' functions are MASt3R's own code where bench/peers/mast3r_torch.py
vendors it (fast_nn, batched_triangulate, get_similarities, the TSDF core: its
sections are written into the modules they come from), and small stand-ins with
MASt3R's signatures elsewhere. Modules import them by name as MASt3R's do
(cloud_opt/sparse_ga.py, colmap/database.py, visloc.py). Prints one JSON object:
{"checks": [{"name", "ok", "detail"}]}; tests/python/patch.test.ts asserts each.
"""

from __future__ import annotations

import importlib
import json
import sys
import tempfile
import textwrap
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
PEER = (ROOT / 'bench' / 'peers' / 'mast3r_torch.py').read_text()

checks: List[Dict[str, Any]] = []


def check(name: str, fn: Callable[[], Any]) -> None:
    try:
        detail = fn()
        checks.append({'name': name, 'ok': detail is None or detail is True, 'detail': None if detail in (None, True) else str(detail)})
    except Exception:  # noqa: BLE001 - reported to the bun test
        checks.append({'name': name, 'ok': False, 'detail': traceback.format_exc()})


def section(title: str) -> str:
    start = PEER.index(f'# ---- {title}')
    end = PEER.index('\n# ---- ', start + 1)
    return PEER[start:end]


HEADER = 'import math\nimport numpy as np\nimport torch\ntry:\n    from scipy.spatial import KDTree\nexcept ImportError:\n    KDTree = None\n\n'

STANDINS = {
    'mast3r/__init__.py': '',
    'mast3r/utils/__init__.py': '',
    'mast3r/utils/path_to_dust3r.py': '# dust3r sits beside mast3r here\n',
    'mast3r/fast_nn.py': HEADER + 'import mast3r.utils.path_to_dust3r  # noqa\n\n' + section('mast3r/fast_nn.py') + textwrap.dedent('''

        def extract_correspondences_nonsym(A, B, confA, confB, subsample=8, device=None, ptmap_key='pred_desc', pixel_tol=0):
            # MASt3R's, shortened to its grid path: both directions merged by merge_corres
            opt = dict(device=device, dist='dot', block_size=2**13)
            HA, WA = A.shape[:2]
            HB, WB = B.shape[:2]
            nn1to2 = fast_reciprocal_NNs(A, B, subsample_or_initxy1=subsample, ret_xy=False, **opt)
            nn2to1 = fast_reciprocal_NNs(B, A, subsample_or_initxy1=subsample, ret_xy=False, **opt)
            idx1 = np.r_[nn1to2[0], nn2to1[1]]
            idx2 = np.r_[nn1to2[1], nn2to1[0]]
            c1 = confA.ravel()[idx1]
            c2 = confB.ravel()[idx2]
            xy1, xy2, idx = merge_corres(idx1, idx2, (HA, WA), (HB, WB), ret_xy=True, ret_index=True)
            return xy1.copy(), xy2.copy(), np.minimum(c1[idx], c2[idx])
        '''),
    'mast3r/cloud_opt/__init__.py': '',
    'mast3r/cloud_opt/triangulation.py': HEADER + section('mast3r/cloud_opt/triangulation.py') + textwrap.dedent('''

        def matches_to_depths(intrinsics, extrinsics, matches, batchsize=16, min_num_valids_ratio=.3):
            # stand-in with MASt3R's signature and outputs (points, depths, confs)
            B, Nv, H, W, _ = matches.shape
            P = intrinsics @ extrinsics[:, :, :3, :]
            pts = torch.cat([matches[..., :2].reshape(B * Nv, 1, H * W, 2), matches[..., 2:4].reshape(B * Nv, 1, H * W, 2)], 1)
            Ps = torch.cat([P[:, [0]].repeat(1, Nv, 1, 1).reshape(B * Nv, 1, 3, 4), P[:, 1:].reshape(B * Nv, 1, 3, 4)], 1)
            X = batched_triangulate(pts, Ps).view(B, Nv, H, W, 3)
            ok = X.isfinite().all(-1)
            conf = torch.where(ok, matches[..., 4], torch.zeros(()))
            norm = conf.sum(1)
            n = torch.where(norm <= 1e-5, torch.ones(()), norm)
            agg = (torch.where(ok[..., None], X, torch.zeros(())) * (conf / n[:, None])[..., None]).sum(1)
            agg[ok.sum(1) <= np.floor(Nv * min_num_valids_ratio)] = torch.nan
            E = extrinsics[:, 0]
            depth = (agg.view(B, -1, 3) @ E[:, :3, :3].transpose(-1, -2) + E[:, None, :3, 3]).view(B, H, W, 3)[..., 2]
            return agg, depth, norm
        '''),
    'mast3r/cloud_opt/tsdf_optimizer.py': HEADER + section('mast3r/cloud_opt/tsdf_optimizer.py') + textwrap.dedent('''

        class TSDFPostProcess:
            # stand-in: MASt3R's attributes and method, the refinement by the vendored core above
            def __init__(self, optimizer, depthmaps, confs):
                self.optimizer = optimizer
                self.imshapes = [d.shape for d in depthmaps]
                self.im_depthmaps = [d.log() for d in depthmaps]
                self.im_conf = confs

            def _get_depthmaps(self, TSDF_filtering_thresh=None):
                dms = self.TSDF_im_depthmaps if TSDF_filtering_thresh else self.im_depthmaps
                return [d.exp() for d in dms]

            @torch.no_grad()
            def _refine_depths_with_TSDF(self, TSDF_filtering_thresh, niter=1, nsamples=1000):
                K = torch.zeros(len(self.im_conf), 3, 3)
                f = self.optimizer.get_focals()
                K[:, 0, 0] = K[:, 1, 1] = f
                K[:, :2, 2] = self.optimizer.get_principal_points()
                K[:, 2, 2] = 1
                out = refine_depths_tsdf(torch.stack(self._get_depthmaps()), torch.stack(self.im_conf),
                                         self.optimizer.get_im_poses(), K, TSDF_filtering_thresh, nsamples)
                self.TSDF_im_depthmaps = [d.log() for d in out]
        '''),
    'mast3r/cloud_opt/sparse_ga.py': textwrap.dedent('''
        from mast3r.fast_nn import fast_reciprocal_NNs, merge_corres
        import mast3r.utils.path_to_dust3r  # noqa
        from dust3r.utils.geometry import inv, geotrf  # noqa


        def forward_matches(desc1, desc2):
            xy1, xy2 = fast_reciprocal_NNs(desc1, desc2, subsample_or_initxy1=8, device='cpu', dist='dot', block_size=2**13)
            return xy1, xy2
        '''),
    'mast3r/colmap/__init__.py': '',
    'mast3r/colmap/database.py': 'from mast3r.fast_nn import extract_correspondences_nonsym, bruteforce_reciprocal_nns\n',
    'mast3r/losses.py': 'import torch\n\n' + section('mast3r/losses.py') + textwrap.dedent('''

        class InfoNCE:
            # stand-in of MASt3R's InfoNCE(MatchingCriterion): the loss method as MASt3R's
            def __init__(self, temperature=0.07, eps=1e-8, mode='all'):
                self.temperature, self.eps, self.mode = temperature, eps, mode

            def loss(self, desc1, desc2, valid_matches=None, euc=False):
                B, N, D = desc1.shape
                if valid_matches is None:
                    valid_matches = torch.ones([B, N], dtype=bool)
                sim = get_similarities(desc1, desc2, euc) / self.temperature
                sim[sim.isnan()] = -torch.inf
                sim = sim.exp_()
                positives = sim.diagonal(dim1=-2, dim2=-1)
                if self.mode == 'all':
                    loss = -torch.log((positives / sim.sum(dim=-1).sum(dim=-1, keepdim=True)).clip(self.eps))
                else:
                    loss = -(torch.log((positives / sim.sum(dim=-2)).clip(self.eps)) + torch.log((positives / sim.sum(dim=-1)).clip(self.eps)))
                return loss[valid_matches]
        '''),
    'mast3r/late.py': 'from mast3r.fast_nn import fast_reciprocal_NNs\nfrom dust3r.utils.geometry import geotrf\n',
    'dust3r/__init__.py': '',
    'dust3r/utils/__init__.py': '',
    'dust3r/utils/geometry.py': textwrap.dedent('''
        # stand-ins with dust3r's signatures and semantics
        import numpy as np
        import torch


        def inv(mat):
            return torch.linalg.inv(mat) if isinstance(mat, torch.Tensor) else np.linalg.inv(mat)


        def geotrf(Trf, pts, ncol=None, norm=False):
            if isinstance(Trf, np.ndarray):
                pts = np.asarray(pts)
            else:
                pts = torch.as_tensor(pts, dtype=Trf.dtype)
            shape = pts.shape[:-1]
            ncol = ncol or pts.shape[-1]
            if Trf.ndim == 3:
                pts = pts.reshape(Trf.shape[0], -1, pts.shape[-1])
            if pts.shape[-1] + 1 == Trf.shape[-1]:
                Trf = Trf.swapaxes(-1, -2)
                pts = pts @ Trf[..., :-1, :] + Trf[..., -1:, :]
            else:
                pts = pts @ Trf.swapaxes(-1, -2)
            if norm:
                pts = pts / pts[..., -1:]
                if norm != 1:
                    pts *= norm
            return pts[..., :ncol].reshape(*shape, ncol)


        def depthmap_to_pts3d(depth, pseudo_focal, pp=None, **_):
            B, H, W = depth.shape
            fx = pseudo_focal if pseudo_focal.ndim == 3 else pseudo_focal[:, 0]
            fy = pseudo_focal if pseudo_focal.ndim == 3 else pseudo_focal[:, -1]
            gy, gx = torch.meshgrid(torch.arange(H), torch.arange(W), indexing='ij')
            if pp is None:
                gx, gy = gx - (W - 1) / 2, gy - (H - 1) / 2
            else:
                gx = gx.expand(B, -1, -1) - pp[:, 0, None, None]
                gy = gy.expand(B, -1, -1) - pp[:, 1, None, None]
            pts = torch.empty((B, H, W, 3))
            pts[..., 0] = depth * gx / fx
            pts[..., 1] = depth * gy / fy
            pts[..., 2] = depth
            return pts
        '''),
    'visloc.py': textwrap.dedent('''
        from mast3r.fast_nn import fast_reciprocal_NNs
        import mast3r.utils.path_to_dust3r  # noqa
        from dust3r.utils.geometry import geotrf
        '''),
}


def unit_map(h: int, w: int, d: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    m = torch.randn(h, w, d, generator=g)
    return torch.nn.functional.normalize(m, dim=-1)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)


def close(a: Any, b: Any, tol: float = 1e-5) -> Any:
    a = a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)
    b = b.detach().cpu().numpy() if isinstance(b, torch.Tensor) else np.asarray(b)
    if a.shape != b.shape:
        return f'shapes {a.shape} vs {b.shape}'
    err = float(np.nanmax(np.abs(a - b) / (1 + np.abs(b)))) if a.size else 0.0
    return True if err <= tol and np.array_equal(np.isnan(a), np.isnan(b)) else f'max relative error {err}'


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix='scanstream-mast3r-standin-'))
    for rel, text in STANDINS.items():
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    sys.path.insert(0, str(tmp))

    fast_nn = importlib.import_module('mast3r.fast_nn')
    tri = importlib.import_module('mast3r.cloud_opt.triangulation')
    tsdf = importlib.import_module('mast3r.cloud_opt.tsdf_optimizer')
    sparse_ga = importlib.import_module('mast3r.cloud_opt.sparse_ga')
    database = importlib.import_module('mast3r.colmap.database')
    losses = importlib.import_module('mast3r.losses')
    geometry = importlib.import_module('dust3r.utils.geometry')
    visloc = importlib.import_module('visloc')
    originals = {
        'fast_nn.fast_reciprocal_NNs': fast_nn.fast_reciprocal_NNs, 'fast_nn.merge_corres': fast_nn.merge_corres,
        'fast_nn.bruteforce_reciprocal_nns': fast_nn.bruteforce_reciprocal_nns, 'geometry.geotrf': geometry.geotrf,
        'geometry.depthmap_to_pts3d': geometry.depthmap_to_pts3d, 'tri.batched_triangulate': tri.batched_triangulate,
        'tri.matches_to_depths': tri.matches_to_depths, 'losses.get_similarities': losses.get_similarities,
        'InfoNCE.loss': losses.InfoNCE.__dict__['loss'], 'TSDF': tsdf.TSDFPostProcess.__dict__['_refine_depths_with_TSDF'],
    }

    # MASt3R's results before patching, on the inputs used after it
    m1, m2 = unit_map(48, 64, 24, 1), unit_map(40, 56, 24, 2)
    c1, c2 = torch.rand(48, 64) + 1, torch.rand(40, 56) + 1
    A, B = unit_map(1, 300, 24, 3)[0], unit_map(1, 257, 24, 4)[0]
    T = torch.randn(4, 4)
    pts = torch.randn(2, 5, 6, 3)
    depth = torch.rand(2, 6, 8) + 0.5
    focal = torch.full((2, 6, 8), 300.0)
    p2d, P = torch.randn(2, 3, 20, 2), torch.randn(2, 3, 3, 4)
    d1, d2 = unit_map(2, 30, 24, 5), unit_map(2, 30, 24, 6)
    Km = torch.eye(3).repeat(1, 3, 1, 1) * torch.tensor([40.0, 40.0, 1.0])[:, None]
    Km[..., 0, 2], Km[..., 1, 2] = 3, 2
    Em = torch.cat([torch.eye(3).repeat(1, 3, 1, 1), torch.randn(1, 3, 3, 1)], -1)
    matches = torch.rand(1, 2, 4, 6, 5) * 5
    before = {
        'sparse_ga': sparse_ga.forward_matches(m1, m2),
        'flat': fast_nn.fast_reciprocal_NNs(m1, m2, 4, ret_xy=False, device='cpu', dist='dot'),
        'basin': fast_nn.fast_reciprocal_NNs(m1, m2, 4, ret_basin=True, device='cpu', dist='dot'),
        'seeds': fast_nn.fast_reciprocal_NNs(m1, m2, (torch.arange(0, 64, 3), torch.arange(0, 48, 2)[:22]), pixel_tol=5, device='cpu',
                                             dist='dot', block_size=2**13),
        'extract': fast_nn.extract_correspondences_nonsym(m1, m2, c1, c2, device='cpu'),
        'bf': database.bruteforce_reciprocal_nns(A, B, device='cpu', dist='dot', block_size=2**13),
        'geotrf': visloc.geotrf(T, pts),
        'geotrf64': visloc.geotrf(np.eye(3) * 2.0, np.ones((5, 2)), norm=True),
        'depth': geometry.depthmap_to_pts3d(depth, focal),
        'tri': tri.batched_triangulate(p2d, P),
        'm2d': tri.matches_to_depths(Km, Em, matches),
        'sim': losses.get_similarities(d1, d2),
        'nce': losses.InfoNCE(temperature=0.05, mode='proper').loss(d1, d2),
        'nce_all': losses.InfoNCE(mode='all').loss(d1, d2),
    }

    import scanstream.mast3r as sm

    check('patch() before patching: every name is MASt3R\'s', lambda: all(
        not hasattr(f, '__scanstream_original__') for f in originals.values()) or 'already patched')
    report = sm.patch()
    sm.patch_stats(reset=True)
    late = importlib.import_module('mast3r.late')
    want_patched = {'mast3r.fast_nn.bruteforce_reciprocal_nns', 'mast3r.fast_nn.fast_reciprocal_NNs', 'mast3r.fast_nn.merge_corres',
                    'mast3r.cloud_opt.triangulation.batched_triangulate', 'mast3r.cloud_opt.triangulation.matches_to_depths',
                    'mast3r.losses.get_similarities', 'mast3r.losses.InfoNCE.loss', 'dust3r.utils.geometry.depthmap_to_pts3d',
                    'dust3r.utils.geometry.geotrf', 'mast3r.cloud_opt.tsdf_optimizer.TSDFPostProcess._refine_depths_with_TSDF'}
    check('patch() replaces every function where it is defined', lambda: set(report.patched) == want_patched or sorted(
        want_patched ^ set(report.patched)))
    want_rebound = {'mast3r.cloud_opt.sparse_ga.fast_reciprocal_NNs', 'mast3r.cloud_opt.sparse_ga.merge_corres', 'mast3r.cloud_opt.sparse_ga.geotrf',
                    'mast3r.colmap.database.bruteforce_reciprocal_nns', 'visloc.fast_reciprocal_NNs', 'visloc.geotrf'}
    check('patch() rebinds the names other modules imported (sparse_ga, colmap.database, visloc)',
          lambda: want_rebound <= set(report.rebound) or sorted(want_rebound - set(report.rebound)))
    check('patch() reports nothing missing', lambda: report.missing == {} or report.missing)
    check('a module imported after patch() gets the replacement', lambda: hasattr(late.fast_reciprocal_NNs, '__scanstream_original__')
          and hasattr(late.geotrf, '__scanstream_original__'))
    check('patch() twice wraps once', lambda: sm.patch().patched == report.patched and
          fast_nn.fast_reciprocal_NNs.__scanstream_original__ is originals['fast_nn.fast_reciprocal_NNs'])

    # served, and equal to MASt3R's results
    check('sparse_ga.fast_reciprocal_NNs (dist=dot) equals MASt3R\'s', lambda: same(sparse_ga.forward_matches(m1, m2), before['sparse_ga']))
    check('fast_reciprocal_NNs ret_xy=False equals MASt3R\'s', lambda: same(
        fast_nn.fast_reciprocal_NNs(m1, m2, 4, ret_xy=False, device='cpu', dist='dot'), before['flat']))
    check('fast_reciprocal_NNs ret_basin equals MASt3R\'s', lambda: same(
        fast_nn.fast_reciprocal_NNs(m1, m2, 4, ret_basin=True, device='cpu', dist='dot'), before['basin']))
    check('fast_reciprocal_NNs seeds with pixel_tol=5 (visloc\'s call) equals MASt3R\'s', lambda: same(fast_nn.fast_reciprocal_NNs(
        m1, m2, (torch.arange(0, 64, 3), torch.arange(0, 48, 2)[:22]), pixel_tol=5, device='cpu', dist='dot', block_size=2**13), before['seeds']))
    check('extract_correspondences_nonsym (MASt3R code calling patched functions) equals MASt3R\'s',
          lambda: same(fast_nn.extract_correspondences_nonsym(m1, m2, c1, c2, device='cpu'), before['extract']))
    check('colmap.database.bruteforce_reciprocal_nns equals MASt3R\'s', lambda: same(
        database.bruteforce_reciprocal_nns(A, B, device='cpu', dist='dot', block_size=2**13), before['bf']))
    check('visloc.geotrf equals dust3r\'s', lambda: close(visloc.geotrf(T, pts), before['geotrf']))
    check('depthmap_to_pts3d (per-pixel focal) equals dust3r\'s', lambda: close(geometry.depthmap_to_pts3d(depth, focal), before['depth']))
    check('batched_triangulate equals MASt3R\'s', lambda: close(tri.batched_triangulate(p2d, P), before['tri'], 1e-4))
    check('matches_to_depths equals the stand-in', lambda: all(close(x, y, 1e-4) is True for x, y in zip(tri.matches_to_depths(Km, Em, matches), before['m2d'])))
    check('get_similarities equals MASt3R\'s', lambda: close(losses.get_similarities(d1, d2), before['sim']))
    check("InfoNCE(mode='proper').loss equals MASt3R's", lambda: close(losses.InfoNCE(temperature=0.05, mode='proper').loss(d1, d2), before['nce']))
    served = sm.patch_stats()
    check('those calls were served by scanstream, none by the originals', lambda: all(
        v['original'] == 0 and v['served'] > 0 for k, v in served.items()) and len(served) >= 9 or served)

    # what scanstream does not serve runs MASt3R's own function
    sm.patch_stats(reset=True)
    # (its get_similarities, a module global, is served by scanstream: equal to float32 rounding)
    check("InfoNCE(mode='all') runs MASt3R's", lambda: close(losses.InfoNCE(mode='all').loss(d1, d2), before['nce_all']))
    check('float64 geotrf (visloc\'s pixel rescaling) runs dust3r\'s', lambda: same(
        visloc.geotrf(np.eye(3) * 2.0, np.ones((5, 2)), norm=True), before['geotrf64']))

    def with_grad() -> Any:
        a = d1.clone().requires_grad_(True)
        s = losses.get_similarities(a, d2)
        s.sum().backward()
        return a.grad is not None and bool(torch.isfinite(a.grad).all())
    check('a tensor that needs a gradient runs MASt3R\'s (and the gradient flows)', with_grad)
    check('an unsupported matcher option runs MASt3R\'s', lambda: isinstance(
        _raises(lambda: fast_nn.fast_reciprocal_NNs(m1, m2, 8, device='cpu', dist='dot', bogus=1)), TypeError))
    fell = sm.patch_stats()
    check('those calls went to the originals, with the reason', lambda: (
        fell['mast3r.losses.InfoNCE.loss']['original'] == 1 and fell['dust3r.utils.geometry.geotrf']['original'] == 1 and
        'float64' in fell['dust3r.utils.geometry.geotrf']['reason'] and fell['mast3r.losses.get_similarities']['original'] == 1 and
        'requires grad' in fell['mast3r.losses.get_similarities']['reason'] and
        fell['mast3r.fast_nn.fast_reciprocal_NNs']['original'] == 1) or fell)

    # the TSDF refinement method
    class Optimizer:
        def get_im_poses(self) -> torch.Tensor:
            poses = torch.eye(4).repeat(3, 1, 1)
            poses[:, 0, 3] = torch.tensor([0.0, 0.05, -0.04])
            return poses

        def get_focals(self) -> torch.Tensor:
            return torch.tensor([10.0, 10.0, 10.0])

        def get_principal_points(self) -> torch.Tensor:
            return torch.tensor([[4.5, 3.5]] * 3)
    dms = [torch.rand(8, 10) * 0.2 + 1.5 for _ in range(3)]
    cfs = [torch.rand(8, 10) for _ in range(3)]

    def tsdf_served() -> Any:
        post = tsdf.TSDFPostProcess(Optimizer(), dms, cfs)
        torch.manual_seed(5)
        post._refine_depths_with_TSDF(0.05, nsamples=50)
        torch.manual_seed(5)
        seed = int(torch.randint(0, 2 ** 62, (1,)).item())
        K = torch.tensor([[10.0, 0, 4.5], [0, 10.0, 3.5], [0, 0, 1]]).repeat(3, 1, 1)
        want = sm.refine_depths_tsdf(torch.stack(post._get_depthmaps()), torch.stack(cfs), Optimizer().get_im_poses(), K, 0.05, 50, seed=seed)
        got = torch.stack([d.exp() for d in post.TSDF_im_depthmaps])
        return close(got, want, 1e-6)
    sm.patch_stats(reset=True)
    check('TSDFPostProcess._refine_depths_with_TSDF is served (seeded from torch\'s generator)', tsdf_served)
    check('TSDFPostProcess with niter=2 runs MASt3R\'s', lambda: tsdf.TSDFPostProcess(Optimizer(), dms, cfs)._refine_depths_with_TSDF(
        0.05, niter=2, nsamples=10) is None and sm.patch_stats()['mast3r.cloud_opt.tsdf_optimizer.TSDFPostProcess._refine_depths_with_TSDF'] == {
        'served': 1, 'original': 1, 'reason': 'niter: 2 iterations are not served (1 is)'})

    # unpatch
    restored = sm.unpatch()
    check('unpatch() puts every original back, in every module (late imports too)', lambda: (
        fast_nn.fast_reciprocal_NNs is originals['fast_nn.fast_reciprocal_NNs'] and sparse_ga.fast_reciprocal_NNs is originals['fast_nn.fast_reciprocal_NNs']
        and sparse_ga.merge_corres is originals['fast_nn.merge_corres'] and database.bruteforce_reciprocal_nns is originals['fast_nn.bruteforce_reciprocal_nns']
        and visloc.geotrf is originals['geometry.geotrf'] and late.geotrf is originals['geometry.geotrf'] and late.fast_reciprocal_NNs is
        originals['fast_nn.fast_reciprocal_NNs'] and losses.InfoNCE.__dict__['loss'] is originals['InfoNCE.loss'] and
        tsdf.TSDFPostProcess.__dict__['_refine_depths_with_TSDF'] is originals['TSDF'] and geometry.depthmap_to_pts3d is
        originals['geometry.depthmap_to_pts3d'] and not sm.is_patched()) or restored)
    sm.patch_stats(reset=True)
    check('after unpatch() calls run MASt3R\'s again', lambda: same(sparse_ga.forward_matches(m1, m2), before['sparse_ga']) and sm.patch_stats() == {})
    print(json.dumps({'checks': checks}))


def _raises(fn: Callable[[], Any]) -> Any:
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the check inspects it
        return err
    return None


if __name__ == '__main__':
    main()
