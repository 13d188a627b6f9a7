#!/usr/bin/env python3
"""The CPU fallback of scanstream._native.Context over backend buffers, on the partial stand-in backend.

argv[1]: the stand-in library; argv[2]: 'cpu' (shared memory) or 'cuda' (CUDA-like
mirrored memory). Runs ss_mast3r_similarity (which the stand-in lacks) on the
stand-in context's own buffers, as src/native/context.ts's fallback does, and
prints JSON: the backend's answers, the bytes the fallback moved, and whether the
result equals the CPU library's."""

from __future__ import annotations

import ctypes
import json
import sys

import numpy as np

from scanstream import _abi
from scanstream._native import Context, stats


def run(ctx: Context, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    bufs = []
    for arr in (a, b):
        buf = ctx.buffer(arr.nbytes)
        ctypes.memmove(buf.host, arr.ctypes.data, arr.nbytes)
        buf.upload()
        bufs.append(buf)
    out = ctx.buffer(a.shape[0] * a.shape[1] * b.shape[1] * 4)
    args = _abi.ss_mast3r_similarity_args(batch=a.shape[0], n=a.shape[1], m=b.shape[1], dim=a.shape[2], euc=0)
    ctx.call('ss_mast3r_similarity', args, bufs + [out])
    out.download()
    result = np.frombuffer(out.view(), np.float32).reshape(a.shape[0], a.shape[1], b.shape[1]).copy()
    for buf in bufs + [out]:
        buf.destroy()
    return result


def main() -> None:
    library, backend = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 30, 24)).astype(np.float32)
    b = rng.standard_normal((2, 20, 24)).astype(np.float32)
    cpu = Context.open('cpu')
    want = run(cpu, a, b)
    ctx = Context.open(backend, library=library)
    stats.reset()
    got = run(ctx, a, b)
    print(json.dumps({'label': ctx.label, 'unified': ctx.unified, 'lacks_similarity': not ctx.supports('ss_mast3r_similarity'),
                      'runs_geotrf': ctx.supports('ss_geotrf'), 'equal': bool(np.array_equal(got, want)), **stats.as_dict()}))
    ctx.destroy()
    cpu.destroy()


if __name__ == '__main__':
    main()
