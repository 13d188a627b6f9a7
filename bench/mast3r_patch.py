#!/usr/bin/env python3
"""Before / after `scanstream.mast3r.patch()` on MASt3R's own code, same inputs, same process.

MASt3R's functions come from bench/peers/mast3r_torch.py (MASt3R's code, vendored
for the benchmark peer): its mast3r/fast_nn.py, cloud_opt/triangulation.py and
losses.py sections are written into a stand-in `mast3r` package laid out as
MASt3R's, each step is timed through the module attribute a MASt3R script calls
(`mast3r.fast_nn.fast_reciprocal_NNs(...)`), then `scanstream.mast3r.patch()`
runs and the same calls are timed again. Steps MASt3R keeps inside a class or
that the peer vendors with another signature (the InfoNCE value, the TSDF
refinement, dust3r's depthmap_to_pts3d) are timed against the scanstream
function called directly ("direct"). Integer results are compared for equality.

Every time is a median of up to --reps calls within 20 s per side (MASt3R's torch
matching takes about a minute a call on a 2-core machine: then one call).

usage: mast3r_patch.py [--reps N] [--quick]   (prints one JSON object on stdout, progress on stderr)
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
PEER_FILE = HERE / 'peers' / 'mast3r_torch.py'
PEER = PEER_FILE.read_text()
HEADER = 'import math\nimport numpy as np\nimport torch\ntry:\n    from scipy.spatial import KDTree\nexcept ImportError:\n    KDTree = None\n\n'


def section(title: str) -> str:
    start = PEER.index(f'# ---- {title}')
    return PEER[start:PEER.index('\n# ---- ', start + 1)]


def standin_package() -> None:
    """mast3r.fast_nn, mast3r.cloud_opt.triangulation, mast3r.losses with MASt3R's code, importable."""
    root = Path(tempfile.mkdtemp(prefix='mast3r-bench-'))
    files = {
        'mast3r/__init__.py': '', 'mast3r/cloud_opt/__init__.py': '',
        'mast3r/fast_nn.py': HEADER + section('mast3r/fast_nn.py'),
        'mast3r/cloud_opt/triangulation.py': HEADER + section('mast3r/cloud_opt/triangulation.py'),
        'mast3r/losses.py': HEADER + section('mast3r/losses.py'),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    sys.path.insert(0, str(root))
    sys.path.insert(0, str(PEER_FILE.parent))


def timed(fn: Callable[[], Any], reps: int, budget_ms: float = 20000) -> Tuple[Any, float, int]:
    """Median of up to reps calls within a time budget; a first call under a second is a warm-up
    (lazy initialisation, first-touch allocations), a slower one counts (MASt3R's torch matching
    takes a minute a call on a small machine)."""
    def once() -> Tuple[Any, float]:
        t0 = time.perf_counter()
        out = fn()
        SYNC()
        return out, (time.perf_counter() - t0) * 1e3
    result, first = once()
    times: List[float] = [] if first < 1000 else [first]
    while len(times) < reps and sum(times) + first < budget_ms:
        result, ms = once()
        times.append(ms)
    return result, sorted(times)[len(times) // 2], len(times)


# waits for queued GPU work when MASt3R's side runs on CUDA (set in main)
SYNC: Callable[[], None] = lambda: None


def equal(a: Any, b: Any) -> bool:
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(equal(x, y) for x, y in zip(a, b))
    return bool(np.array_equal(np.asarray(a), np.asarray(b)))


def unit(shape: Tuple[int, ...], seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.nn.functional.normalize(torch.randn(*shape, generator=g), dim=-1)


def coherent_maps(h: int, w: int, d: int, seed: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Two descriptor maps of one smooth field, the second shifted and noisy: matches exist, as in MASt3R's output."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.randn(1, d, h // 16 + 3, w // 16 + 3, generator=g)
    field = torch.nn.functional.interpolate(coarse, size=(h + 32, w + 32), mode='bilinear', align_corners=False)[0].permute(1, 2, 0)
    m1 = field[:h, :w] + 0.15 * torch.randn(h, w, d, generator=g)
    m2 = field[12:12 + h, 20:20 + w] + 0.15 * torch.randn(h, w, d, generator=g)
    return (torch.nn.functional.normalize(m1, dim=-1).contiguous(), torch.nn.functional.normalize(m2, dim=-1).contiguous())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument('--reps', type=int, default=5)
    ap.add_argument('--quick', action='store_true', help='smaller localisation and brute-force sizes')
    ap.add_argument('--device', default='cpu', help="torch device of MASt3R's side ('cuda' on a GPU machine); the direct steps stay on the CPU")
    ap.add_argument('--threads', type=int, default=os.cpu_count() or 1, help="torch's threads (default: every core, as scanstream uses)")
    args = ap.parse_args()
    # Debian's torch may start with one thread on a small VM: both sides get every core
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    global SYNC
    if dev.type == 'cuda':
        SYNC = torch.cuda.synchronize
    standin_package()
    fast_nn = importlib.import_module('mast3r.fast_nn')
    tri = importlib.import_module('mast3r.cloud_opt.triangulation')
    losses = importlib.import_module('mast3r.losses')
    peer = importlib.import_module('mast3r_torch')
    import scanstream
    import scanstream.mast3r as sm

    m1, m2 = (m.to(dev) for m in coherent_maps(384, 512, 24, 1))
    # MASt3R's localisation maps are 512×384; its torch matcher needs minutes per call there on a CPU
    lh, lw = (72, 96) if args.quick else (96, 128)
    l1, l2 = (m.to(dev) for m in coherent_maps(lh, lw, 24, 2))
    ly, lx = torch.meshgrid(torch.arange(lh), torch.arange(lw), indexing='ij')
    n_bf = 5000 if args.quick else 20000
    A, B = unit((n_bf, 24), 3).to(dev), unit((n_bf, 24), 4).to(dev)
    p2d = (torch.rand(1, 2, 384 * 512, 2) * 500).to(dev)
    P = torch.randn(1, 2, 3, 4).to(dev)
    d1, d2 = unit((1, 4096, 24), 5).to(dev), unit((1, 4096, 24), 6).to(dev)
    e1, e2 = unit((4, 2048, 24), 7), unit((4, 2048, 24), 8)
    depth = torch.rand(8, 384, 512) + 0.5
    T = torch.eye(4)
    T[:3, 3] = torch.tensor([0.1, -0.2, 0.3])
    nimg, th, tw, ns = 4, 48, 64, 100
    tdepth = torch.rand(nimg, th, tw) * 0.1 + 1.5
    tconf = torch.rand(nimg, th, tw)
    tposes = torch.eye(4).repeat(nimg, 1, 1)
    tposes[:, 0, 3] = torch.linspace(0, 0.1, nimg)
    tK = torch.tensor([[60.0, 0, 31.5], [0, 60.0, 23.5], [0, 0, 1]]).repeat(nimg, 1, 1)

    steps: List[Dict[str, Any]] = [
        {'name': 'fast_reciprocal_NNs', 'what': "512×384×24 maps, subsample 8, dist='dot', block_size=2**13 (MASt3R's matching call)",
         'call': lambda: fast_nn.fast_reciprocal_NNs(m1, m2, subsample_or_initxy1=8, device=args.device, dist='dot', block_size=2 ** 13), 'reps': args.reps},
        {'name': 'fast_reciprocal_NNs (localisation)', 'what': f'{lw}×{lh}×24 maps, a seed at every pixel, pixel_tol=5 (visloc.py)',
         'call': lambda: fast_nn.fast_reciprocal_NNs(l1, l2, (lx.reshape(-1), ly.reshape(-1)), pixel_tol=5, device=args.device, dist='dot',
                                                     block_size=2 ** 13), 'reps': args.reps},
        {'name': 'bruteforce_reciprocal_nns', 'what': f"{n_bf}×{n_bf}×24, dist='dot', block_size=2**13 (colmap export)",
         'call': lambda: fast_nn.bruteforce_reciprocal_nns(A, B, device=args.device, dist='dot', block_size=2 ** 13), 'reps': args.reps},
        {'name': 'batched_triangulate', 'what': '2 cameras × 196 608 points (one 512×384 pair)',
         'call': lambda: tri.batched_triangulate(p2d, P), 'reps': args.reps, 'compare': False},
        {'name': 'get_similarities', 'what': '[1, 4096, 24] × [1, 4096, 24]', 'call': lambda: losses.get_similarities(d1, d2), 'reps': args.reps,
         'compare': False},
    ]
    direct: List[Dict[str, Any]] = [
        {'name': 'InfoNCE loss value', 'what': "[4, 2048, 24] pairs, mode 'proper', τ 0.05",
         'before': lambda: peer.infonce_proper(e1, e2, temperature=0.05), 'after': lambda: sm.infonce_loss(e1, e2, temperature=0.05)},
        {'name': 'depthmap_to_pts3d + geotrf', 'what': '8 × 512×384 depth maps to world points',
         'before': lambda: peer.geotrf(T, peer.depthmap_to_pts3d(depth, 500.0, 500.0, 255.5, 191.5)),
         'after': lambda: sm.geotrf(T, sm.depthmap_to_pts3d(depth, 500.0))},
        {'name': 'TSDF depth refinement', 'what': f'{nimg} images of {tw}×{th}, {ns} samples',
         'before': lambda: peer.refine_depths_tsdf(tdepth, tconf, tposes, tK, 0.05, ns),
         'after': lambda: sm.refine_depths_tsdf(tdepth, tconf, tposes, tK, 0.05, ns, seed=1)},
    ]

    results: List[Dict[str, Any]] = []
    before: Dict[str, Tuple[Any, float, int]] = {}
    for s in steps:
        sys.stderr.write(f"before: {s['name']}…\n")
        before[s['name']] = timed(s['call'], s['reps'])
    report = sm.patch()
    for s in steps:
        sys.stderr.write(f"after: {s['name']}…\n")
        out, ms, n = timed(s['call'], s['reps'])
        ref, ref_ms, ref_n = before[s['name']]
        results.append({'name': s['name'], 'what': s['what'], 'via': 'patch()', 'before_ms': round(ref_ms, 3), 'after_ms': round(ms, 3),
                        'speedup': round(ref_ms / ms, 2), 'reps': [ref_n, n],
                        'equal_results': equal(out, ref) if s.get('compare', True) else None})
    for s in direct:
        sys.stderr.write(f"{s['name']}…\n")
        _, ref_ms, ref_n = timed(s['before'], args.reps)
        _, ms, n = timed(s['after'], args.reps)
        results.append({'name': s['name'], 'what': s['what'], 'via': 'direct', 'before_ms': round(ref_ms, 3), 'after_ms': round(ms, 3),
                        'speedup': round(ref_ms / ms, 2), 'reps': [ref_n, n], 'equal_results': None})
    json.dump({'device': args.device, 'torch': torch.__version__, 'torch_threads': torch.get_num_threads(), 'python': platform.python_version(),
               'machine': platform.machine(), 'cpus': os.cpu_count(), 'backend': scanstream.backend_info(),
               'patched': report.patched, 'steps': results, 'patch_stats': sm.patch_stats()}, sys.stdout)
    sys.stdout.write('\n')


if __name__ == '__main__':
    main()
