#!/usr/bin/env python3
"""Torch peer for `bun run bench mast3r`: MASt3R's own post-processing code, run
on the same .npy inputs in the same session, so scanstream's kernels can be
timed against it and checked for equal results.

The functions below are MASt3R's (naver/mast3r, CC BY-NC-SA 4.0):
bruteforce_reciprocal_nns, cdistMatcher, merge_corres and fast_reciprocal_NNs
from mast3r/fast_nn.py; batched_triangulate from mast3r/cloud_opt/triangulation.py;
get_similarities and InfoNCE('proper') from mast3r/losses.py; the TSDF query of
mast3r/cloud_opt/tsdf_optimizer.py. They are reproduced with only the imports
and the device defaults changed (device='cpu'), so the timings are those of
MASt3R's code on this CPU. fast_reciprocal_NNs takes MASt3R's scipy KD-tree
path when scipy is installed, else its torch brute-force path (cdistMatcher,
dist='dot', block_size=2**13, as extract_correspondences_nonsym calls it).

--device cuda runs the same code on the GPU, as MASt3R does there: the inputs
are moved to the GPU before the clock starts (a network leaves them there),
fast_reciprocal_NNs takes the cdistMatcher path (its choice for a CUDA
device), matmuls stay FP32 (TF32 off, torch's default), and every timed call
ends with torch.cuda.synchronize(). The TSDF query draws its normals on the
device (the RNG stream differs from the CPU's; only time is compared).

usage: mast3r_torch.py TASK [options]   (prints one JSON object on stdout)
"""
import argparse
import json
import math
import sys
import time

import numpy as np
import torch

try:  # MASt3R imports scipy.spatial.KDTree at module level; here it is optional
    from scipy.spatial import KDTree
except ImportError:  # pragma: no cover - depends on the machine
    KDTree = None


# ---- mast3r/fast_nn.py ------------------------------------------------------
@torch.no_grad()
def bruteforce_reciprocal_nns(A, B, device='cpu', block_size=None, dist='l2'):
    if isinstance(A, np.ndarray):
        A = torch.from_numpy(A).to(device)
    if isinstance(B, np.ndarray):
        B = torch.from_numpy(B).to(device)

    A = A.to(device)
    B = B.to(device)

    if dist == 'l2':
        dist_func = torch.cdist
        argmin = torch.min
    elif dist == 'dot':
        def dist_func(A, B):
            return A @ B.T

        def argmin(X, dim):
            sim, nn = torch.max(X, dim=dim)
            return sim.neg_(), nn
    else:
        raise ValueError(f'Unknown {dist=}')

    if block_size is None or len(A) * len(B) <= block_size**2:
        dists = dist_func(A, B)
        _, nn_A = argmin(dists, dim=1)
        _, nn_B = argmin(dists, dim=0)
    else:
        dis_A = torch.full((A.shape[0],), float('inf'), device=device, dtype=A.dtype)
        dis_B = torch.full((B.shape[0],), float('inf'), device=device, dtype=B.dtype)
        nn_A = torch.full((A.shape[0],), -1, device=device, dtype=torch.int64)
        nn_B = torch.full((B.shape[0],), -1, device=device, dtype=torch.int64)
        number_of_iteration_A = math.ceil(A.shape[0] / block_size)
        number_of_iteration_B = math.ceil(B.shape[0] / block_size)

        for i in range(number_of_iteration_A):
            A_i = A[i * block_size:(i + 1) * block_size]
            for j in range(number_of_iteration_B):
                B_j = B[j * block_size:(j + 1) * block_size]
                dists_blk = dist_func(A_i, B_j)  # A, B, 1
                min_A_i, argmin_A_i = argmin(dists_blk, dim=1)
                min_B_j, argmin_B_j = argmin(dists_blk, dim=0)

                col_mask = min_A_i < dis_A[i * block_size:(i + 1) * block_size]
                line_mask = min_B_j < dis_B[j * block_size:(j + 1) * block_size]

                dis_A[i * block_size:(i + 1) * block_size][col_mask] = min_A_i[col_mask]
                dis_B[j * block_size:(j + 1) * block_size][line_mask] = min_B_j[line_mask]

                nn_A[i * block_size:(i + 1) * block_size][col_mask] = argmin_A_i[col_mask] + (j * block_size)
                nn_B[j * block_size:(j + 1) * block_size][line_mask] = argmin_B_j[line_mask] + (i * block_size)
    nn_A = nn_A.cpu().numpy()
    nn_B = nn_B.cpu().numpy()
    return nn_A, nn_B


class cdistMatcher:
    def __init__(self, db_pts, device='cpu'):
        self.db_pts = db_pts.to(device)
        self.device = device

    def query(self, queries, k=1, **kw):
        assert k == 1
        if queries.numel() == 0:
            return None, []
        nnA, nnB = bruteforce_reciprocal_nns(queries, self.db_pts, device=self.device, **kw)
        dis = None
        return dis, nnA


def merge_corres(idx1, idx2, shape1=None, shape2=None, ret_xy=True, ret_index=False):
    assert idx1.dtype == idx2.dtype == np.int32

    # unique and sort along idx1
    corres = np.unique(np.c_[idx2, idx1].view(np.int64), return_index=ret_index)
    if ret_index:
        corres, indices = corres
    xy2, xy1 = corres[:, None].view(np.int32).T

    if ret_xy:
        assert shape1 and shape2
        xy1 = np.unravel_index(xy1, shape1)
        xy2 = np.unravel_index(xy2, shape2)
        if ret_xy != 'y_x':
            xy1 = xy1[0].base[:, ::-1]
            xy2 = xy2[0].base[:, ::-1]

    if ret_index:
        return xy1, xy2, indices
    return xy1, xy2


def to_numpy(x):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, (tuple, list)):
        return type(x)(to_numpy(v) for v in x)
    return x


def fast_reciprocal_NNs(pts1, pts2, subsample_or_initxy1=8, ret_xy=True, pixel_tol=0, ret_basin=False,
                        device='cpu', **matcher_kw):
    H1, W1, DIM1 = pts1.shape
    H2, W2, DIM2 = pts2.shape
    assert DIM1 == DIM2

    pts1 = pts1.reshape(-1, DIM1)
    pts2 = pts2.reshape(-1, DIM2)

    if isinstance(subsample_or_initxy1, int) and pixel_tol == 0:
        S = subsample_or_initxy1
        y1, x1 = np.mgrid[S // 2:H1:S, S // 2:W1:S].reshape(2, -1)
        max_iter = 10
    else:
        x1, y1 = subsample_or_initxy1
        if isinstance(x1, torch.Tensor):
            x1 = x1.cpu().numpy()
        if isinstance(y1, torch.Tensor):
            y1 = y1.cpu().numpy()
        max_iter = 1

    xy1 = np.int32(np.unique(x1 + W1 * y1))  # make sure there's no doublons
    xy2 = np.full_like(xy1, -1)
    old_xy1 = xy1.copy()
    old_xy2 = xy2.copy()

    if 'dist' in matcher_kw or 'block_size' in matcher_kw \
            or (isinstance(device, str) and device.startswith('cuda')) \
            or (isinstance(device, torch.device) and device.type.startswith('cuda')):
        pts1 = pts1.to(device)
        pts2 = pts2.to(device)
        tree1 = cdistMatcher(pts1, device=device)
        tree2 = cdistMatcher(pts2, device=device)
    else:
        pts1, pts2 = to_numpy((pts1, pts2))
        tree1 = KDTree(pts1)
        tree2 = KDTree(pts2)

    notyet = np.ones(len(xy1), dtype=bool)
    basin = np.full((H1 * W1 + 1,), -1, dtype=np.int32) if ret_basin else None

    niter = 0
    while notyet.any():
        _, xy2[notyet] = to_numpy(tree2.query(pts1[xy1[notyet]], **matcher_kw))
        if not ret_basin:
            notyet &= (old_xy2 != xy2)  # remove points that have converged

        _, xy1[notyet] = to_numpy(tree1.query(pts2[xy2[notyet]], **matcher_kw))
        if ret_basin:
            basin[old_xy1[notyet]] = xy1[notyet]
        notyet &= (old_xy1 != xy1)  # remove points that have converged

        niter += 1
        if niter >= max_iter:
            break

        old_xy2[:] = xy2
        old_xy1[:] = xy1

    if pixel_tol > 0:
        old_yx1 = np.unravel_index(old_xy1, (H1, W1))[0].base
        new_yx1 = np.unravel_index(xy1, (H1, W1))[0].base
        dis = np.linalg.norm(old_yx1 - new_yx1, axis=-1)
        converged = dis < pixel_tol
        if not isinstance(subsample_or_initxy1, int):
            xy1 = old_xy1  # replace new points by old ones
    else:
        converged = ~notyet  # converged correspondences

    # keep only unique correspondences, and sort on xy1
    xy1, xy2 = merge_corres(xy1[converged], xy2[converged], (H1, W1), (H2, W2), ret_xy=ret_xy)
    if ret_basin:
        return xy1, xy2, basin
    return xy1, xy2


# ---- mast3r/cloud_opt/triangulation.py --------------------------------------
def batched_triangulate(pts2d, proj_mats):
    B, Ncams, Npts, two = pts2d.shape
    assert two == 2
    assert proj_mats.shape == (B, Ncams, 3, 4)
    # P - xP
    x = proj_mats[..., 0, :][..., None, :] - torch.einsum('bij,bik->bijk', pts2d[..., 0], proj_mats[..., 2, :])
    y = proj_mats[..., 1, :][..., None, :] - torch.einsum('bij,bik->bijk', pts2d[..., 1], proj_mats[..., 2, :])
    eq = torch.cat([x, y], dim=1).transpose(1, 2)  # [B, Npts, 2xNcams, 4]
    return torch.linalg.lstsq(eq[..., :3], -eq[..., 3]).solution


# ---- matches_to_depths ----------------------------------------------------------
@torch.no_grad()
def matches_to_depths(K, E, matches, min_valid_ratio=0.3):
    """matches_to_depths as mast3r-kernels.md states it, written here with the
    same torch operations as MASt3R's (batched_triangulate over reference/view
    pairs, confidence-weighted mean over the finite views); not MASt3R's file."""
    B, Nv, H, W, _ = matches.shape
    P = K @ E[:, :, :3, :]  # [B, Nv+1, 3, 4]
    pairs = torch.stack([P[:, :1].expand(B, Nv, 3, 4), P[:, 1:]], dim=2).reshape(B * Nv, 2, 3, 4)
    pts = torch.stack([matches[..., 0:2], matches[..., 2:4]], dim=2).reshape(B * Nv, 2, H * W, 2)
    X = batched_triangulate(pts, pairs).reshape(B, Nv, H * W, 3)
    ok = X.isfinite().all(dim=-1)
    conf = torch.where(ok, matches[..., 4].reshape(B, Nv, H * W), torch.zeros(()))
    total = conf.sum(dim=1)
    norm = torch.where(total <= 1e-5, torch.ones(()), total)
    X = torch.where(ok[..., None], X, torch.zeros(()))
    points = (X * (conf / norm[:, None])[..., None]).sum(dim=1)  # [B, HW, 3]
    points[ok.sum(dim=1) <= math.floor(Nv * min_valid_ratio)] = float('nan')
    R0, t0 = E[:, 0, 2, :3], E[:, 0, 2, 3]
    depths = (points @ R0[:, :, None])[..., 0] + t0[:, None]
    return points.reshape(B, H, W, 3), depths.reshape(B, H, W), total.reshape(B, H, W)


# ---- mast3r/losses.py -----------------------------------------------------------
def get_similarities(desc1, desc2, euc=False):
    if euc:  # euclidean distance in same range than similarities
        dists = (desc1[:, :, None] - desc2[:, None]).norm(dim=-1)
        sim = 1 / (1 + dists)
    else:
        sim = desc1 @ desc2.transpose(-2, -1)
    return sim


def infonce_proper(desc1, desc2, temperature=0.05, eps=1e-8, euc=False):
    sim = get_similarities(desc1, desc2, euc) / temperature
    sim[sim.isnan()] = -torch.inf  # ignore nans
    sim = sim.exp_()  # save peak memory
    positives = sim.diagonal(dim1=-2, dim2=-1)
    loss = -(torch.log((positives / sim.sum(dim=-2)).clip(eps)) +
             torch.log((positives / sim.sum(dim=-1)).clip(eps)))
    return loss.mean()


# ---- dust3r/utils/geometry.py (depthmap_to_pts3d, geotrf) ---------------------
def depthmap_to_pts3d(depth, fx, fy, cx, cy):
    B, H, W = depth.shape
    dev = depth.device
    grid_y, grid_x = torch.meshgrid(torch.arange(H, dtype=torch.float32, device=dev),
                                    torch.arange(W, dtype=torch.float32, device=dev), indexing='ij')
    pts3d = torch.empty((B, H, W, 3), device=dev)
    pts3d[..., 0] = depth * (grid_x - cx) / fx
    pts3d[..., 1] = depth * (grid_y - cy) / fy
    pts3d[..., 2] = depth
    return pts3d


def geotrf(Trf, pts):
    pts = pts @ Trf[:-1, :-1].T + Trf[:-1, -1]
    return pts


# ---- mast3r/cloud_opt/tsdf_optimizer.py: _refine_depths_with_TSDF core -------------
@torch.no_grad()
def refine_depths_tsdf(depths, confs, cam2w, K, tau, nsamples, batchsize=int(1e7)):
    n, H, W = depths.shape
    dev = depths.device
    focals = torch.stack([K[:, 0, 0], K[:, 1, 1]], dim=-1)
    pps = K[:, :2, 2]
    R, t = cam2w[:, :3, :3], cam2w[:, :3, 3]
    Rinv = R.transpose(-2, -1)
    tinv = -Rinv @ t[..., None]
    intr = torch.eye(3, device=dev)[None].repeat(n, 1, 1)
    intr[:, 0, 0] = focals[:, 0]
    intr[:, 1, 1] = focals[:, 1]
    intr[:, :2, -1] = pps

    def tsdf_query(q):
        N = q.shape[0]
        qp = q[None].repeat(n, 1, 1)
        proj = (intr @ (Rinv @ qp.transpose(-2, -1) + tinv)).transpose(-2, -1)
        proj[..., :2] /= proj[..., [-1]]
        coords = proj[..., :2].round().to(int)
        pdepth = proj[..., -1]
        pred = torch.zeros([n, N], device=dev)
        pconf = torch.zeros([n, N], device=dev)
        valids = torch.zeros([n, N], dtype=bool, device=dev)
        for ni in range(n):
            imc = coords[ni]
            valids[ni] = (0 <= imc[:, 1]) & (imc[:, 1] < H) & (0 <= imc[:, 0]) & (imc[:, 0] < W)
            imc[~valids[ni]] = 0
            pred[ni] = depths[ni][imc[:, 1], imc[:, 0]]
            pconf[ni] = confs[ni][imc[:, 1], imc[:, 0]]
        sdf = pred - pdepth
        unseen = sdf < -tau
        tsdf = sdf.clip(-tau, 1e20)
        w = (~unseen).float() * valids.float() * pconf.exp()
        ws = w.sum(dim=0)
        ok = ws != 0.
        val = (w * tsdf).sum(dim=0)
        val[ok] /= ws[ok]
        return val, ok

    out = []
    gy, gx = torch.meshgrid(torch.arange(H, dtype=torch.float32, device=dev), torch.arange(W, dtype=torch.float32, device=dev),
                            indexing='ij')
    for vi in range(n):
        dm = depths[vi].clone()
        newdm = dm[..., None] + (torch.randn(H, W, nsamples, device=dev) - 1.) * tau
        X = newdm * ((gx - pps[vi, 0]) / focals[vi, 0])[..., None]
        Y = newdm * ((gy - pps[vi, 1]) / focals[vi, 1])[..., None]
        pts = torch.stack([X, Y, newdm], dim=-1).view(-1, 3) @ R[vi].T + t[vi]
        vals, oks = [], []
        for b in range(0, len(pts), batchsize):
            v, o = tsdf_query(pts[b:b + batchsize])
            vals.append(v)
            oks.append(o)
        vals = torch.cat(vals).view(H, W, nsamples)
        oks = torch.cat(oks).view(H, W, nsamples)
        vals[~oks] = torch.inf
        vals = vals.abs()
        mins = torch.argmin(vals, dim=-1, keepdim=True)
        allbad = (vals == tau).sum(dim=-1) == nsamples
        dm[~allbad] = torch.gather(newdm, -1, mins)[..., 0][~allbad]
        out.append(dm)
    return torch.stack(out)


# ---- harness ------------------------------------------------------------------------------
DEVICE = 'cpu'


def sync():
    if DEVICE.startswith('cuda'):
        torch.cuda.synchronize()


def timed(fn, reps, warmup=0):
    for _ in range(warmup):
        fn()
    sync()
    times, result = [], None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    times.sort()
    return result, {'median_ms': times[len(times) // 2], 'min_ms': times[0], 'reps': reps}


def sgemm(reps):
    out = {}
    if DEVICE.startswith('cuda'):
        # FP32 (TF32 off): the rate an exact FP32 kernel is held to
        for (n, k, m) in [(8192, 8192, 8192), (4096, 24, 4096)]:
            a = torch.randn(n, k, device=DEVICE)
            b = torch.randn(k, m, device=DEVICE)
            _, t = timed(lambda: torch.mm(a, b), reps, warmup=2)
            out[f'torch.mm {n}x{k}x{m}'] = {**t, 'gflops': 2 * n * k * m / t['median_ms'] / 1e6}
        return out
    for (n, k, m) in [(1024, 1024, 1024), (3072, 24, 3072)]:
        a = torch.randn(n, k)
        b = torch.randn(k, m)
        torch.mm(a, b)
        _, t = timed(lambda: torch.mm(a, b), reps)
        out[f'torch.mm {n}x{k}x{m}'] = {**t, 'gflops': 2 * n * k * m / t['median_ms'] / 1e6}
        try:  # oneDNN's SGEMM, the fastest this torch build has
            am = a.to_mkldnn()
            bm = b.T.contiguous().to_mkldnn()
            torch._C._nn.mkldnn_linear(am, bm, None)
            _, t = timed(lambda: torch._C._nn.mkldnn_linear(am, bm, None), reps)
            out[f'onednn {n}x{k}x{m}'] = {**t, 'gflops': 2 * n * k * m / t['median_ms'] / 1e6}
        except Exception as err:  # noqa: BLE001 - report, not fail
            out[f'onednn {n}x{k}x{m}'] = {'error': str(err)}
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('task', choices=['info', 'sgemm', 'reciprocal', 'fast', 'similarity', 'triangulate', 'pointmaps',
                                     'tsdf', 'matches_to_depths'])
    ap.add_argument('--in', dest='inputs', nargs='*', default=[])
    ap.add_argument('--out', default=None)
    ap.add_argument('--dist', default='dot')
    ap.add_argument('--block', type=int, default=2 ** 13)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--subsample', type=int, default=8)
    ap.add_argument('--tau', type=float, default=0.05)
    ap.add_argument('--samples', type=int, default=1000)
    ap.add_argument('--temperature', type=float, default=0.05)
    ap.add_argument('--device', default='cpu', help="cpu or cuda: where MASt3R's code runs")
    args = ap.parse_args()
    global DEVICE
    DEVICE = args.device
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    res = {'task': args.task, 'torch': torch.__version__, 'threads': torch.get_num_threads(), 'device': DEVICE}
    cuda = DEVICE.startswith('cuda')
    if cuda:
        if not torch.cuda.is_available():
            raise SystemExit('--device cuda: torch sees no CUDA device')
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        res['gpu'] = torch.cuda.get_device_name(0)
    load = [np.load(p) for p in args.inputs]
    dev = lambda x: torch.from_numpy(x).to(DEVICE)  # noqa: E731
    # the first call on a GPU pays for kernel loading and the allocator: not MASt3R's steady state
    warm = 1 if cuda else 0

    if args.task == 'info':
        res['scipy'] = KDTree is not None
        res['blas'] = 'see torch.__config__.show()'
        res['cuda'] = torch.cuda.is_available()
        if torch.cuda.is_available():
            res['gpu'] = torch.cuda.get_device_name(0)
    elif args.task == 'sgemm':
        res['results'] = sgemm(max(args.reps, 5))
    elif args.task == 'reciprocal':
        A, B = (dev(x) for x in load)
        (nn_a, nn_b), t = timed(lambda: bruteforce_reciprocal_nns(A, B, device=DEVICE, block_size=args.block,
                                                                  dist=args.dist), args.reps, warm)
        res.update(t)
        if args.out:
            np.save(args.out + '.nn_a.npy', nn_a)
            np.save(args.out + '.nn_b.npy', nn_b)
    elif args.task == 'fast':
        m1, m2 = load
        if cuda:
            res['path'] = "torch on the GPU (cdistMatcher, dist='dot', block_size=2**13: MASt3R's path for a CUDA device)"
            t1, t2 = dev(m1), dev(m2)
            fn = lambda: fast_reciprocal_NNs(t1, t2, subsample_or_initxy1=args.subsample, device=DEVICE,  # noqa: E731
                                             dist='dot', block_size=2 ** 13)
        elif KDTree is not None:
            res['path'] = 'scipy KDTree (MASt3R CPU default)'
            fn = lambda: fast_reciprocal_NNs(m1, m2, subsample_or_initxy1=args.subsample, device='cpu')  # noqa: E731
        else:
            res['path'] = "torch brute force (cdistMatcher, dist='dot', block_size=2**13; scipy absent)"
            t1, t2 = torch.from_numpy(m1), torch.from_numpy(m2)
            fn = lambda: fast_reciprocal_NNs(t1, t2, subsample_or_initxy1=args.subsample, device='cpu',  # noqa: E731
                                             dist='dot', block_size=2 ** 13)
        (xy1, xy2), t = timed(fn, args.reps, warm)
        res.update(t)
        res['matches'] = int(len(xy1))
        if args.out:
            np.save(args.out + '.xy1.npy', np.ascontiguousarray(xy1).astype(np.int64))
            np.save(args.out + '.xy2.npy', np.ascontiguousarray(xy2).astype(np.int64))
    elif args.task == 'similarity':
        d1, d2 = (dev(x) for x in load)
        _, t = timed(lambda: get_similarities(d1, d2), args.reps, warm)
        res['similarity'] = t
        loss, t = timed(lambda: infonce_proper(d1, d2, temperature=args.temperature), args.reps, warm)
        res['infonce'] = {**t, 'loss': float(loss)}
    elif args.task == 'triangulate':
        p2, P = (dev(x) for x in load)
        _, t = timed(lambda: batched_triangulate(p2, P), args.reps, warm)
        res.update(t)
    elif args.task == 'pointmaps':
        depth, T = load
        d = dev(depth)
        Tt = dev(T)
        B, H, W = d.shape
        _, t = timed(lambda: depthmap_to_pts3d(d, 500.0, 500.0, (W - 1) / 2, (H - 1) / 2), args.reps, warm)
        res['depthmap_to_pts3d'] = t
        pts = depthmap_to_pts3d(d, 500.0, 500.0, (W - 1) / 2, (H - 1) / 2)
        _, t = timed(lambda: geotrf(Tt, pts), args.reps, warm)
        res['geotrf'] = t
    elif args.task == 'matches_to_depths':
        K, E, m = (dev(x) for x in load)
        (_, depths, _), t = timed(lambda: matches_to_depths(K, E, m), args.reps, warm)
        res.update(t)
        if args.out:
            np.save(args.out + '.depths.npy', depths.cpu().numpy())
    elif args.task == 'tsdf':
        depths, confs, cam2w, K = (dev(x) for x in load)
        torch.manual_seed(0)
        _, t = timed(lambda: refine_depths_tsdf(depths, confs, cam2w, K, args.tau, args.samples), args.reps, warm)
        res.update(t)
    json.dump(res, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
