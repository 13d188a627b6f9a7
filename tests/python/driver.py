#!/usr/bin/env python3
"""Runs the scanstream.mast3r calls a JSON job lists and writes their results as .npy.

The bun tests (tests/python/*.test.ts) write random inputs as .npy, run the
TypeScript API on them, run this script (PYTHONPATH=python) and compare.

job: {"results": path, "backend": {...}?, "calls": [{"id", "fn", "args", "kwargs", "variants"}]}
Arguments: JSON values as they are; {"npy": path} an array ("astype": a dtype to cast
to, "keep": true to leave it out of the variant's conversion); {"tuple": [...]} a tuple;
{"number": "nan" | "inf" | "-inf"}. Variants: numpy (the arrays as written), torch
(tensors), float64 (float32 arrays widened), strided (float32 arrays as
non-contiguous views), torch64 (float64 tensors), torch_grad (float32 tensors that
require grad). Per call and variant: the outputs (files, kind, dtype, shape) or the
exception, and scanstream.transfer_stats() for that call.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List

import numpy as np

try:
    import torch
except ImportError:  # numpy-only machines run the numpy variants
    torch = None

import scanstream
import scanstream.mast3r as m

TORCH_VARIANTS = ('torch', 'torch64', 'torch_grad')


def convert(arr: np.ndarray, variant: str) -> Any:
    floating = arr.dtype == np.float32
    if variant == 'float64' and floating:
        return arr.astype(np.float64)
    if variant == 'strided' and floating:
        wide = np.zeros(arr.shape + (2,), np.float32)
        wide[..., 0] = arr
        return wide[..., 0]
    if variant in TORCH_VARIANTS:
        t = torch.from_numpy(arr.copy())
        if variant == 'torch64' and floating:
            t = t.double()
        if variant == 'torch_grad' and floating:
            t.requires_grad_(True)
        return t
    return arr


def decode(v: Any, variant: str) -> Any:
    if isinstance(v, list):
        return [decode(x, variant) for x in v]
    if isinstance(v, dict):
        if 'npy' in v:
            arr = np.load(v['npy'])
            if 'astype' in v:
                arr = arr.astype(v['astype'])
            return arr if v.get('keep') else convert(arr, variant)
        if 'tuple' in v:
            return tuple(decode(x, variant) for x in v['tuple'])
        if 'number' in v:
            return float(v['number'])
        return {k: decode(x, variant) for k, x in v.items()}
    return v


def leaves(out: Any) -> List[Any]:
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in leaves(o)]
    return [out]


def save(leaf: Any, path: Path) -> Dict[str, Any]:
    kind = type(leaf).__name__
    if torch is not None and isinstance(leaf, torch.Tensor):
        info = {'kind': 'Tensor', 'dtype': str(leaf.dtype).replace('torch.', ''), 'shape': list(leaf.shape),
                'device': leaf.device.type, 'requires_grad': bool(leaf.requires_grad)}
        arr = leaf.detach().cpu().numpy()
    elif isinstance(leaf, np.ndarray):
        info = {'kind': 'ndarray', 'dtype': str(leaf.dtype), 'shape': list(leaf.shape)}
        arr = leaf
    else:
        return {'kind': kind, 'value': repr(leaf)}
    if arr.dtype in (np.uint8, np.bool_, np.int16):
        arr = arr.astype(np.int32)
    np.save(path, np.ascontiguousarray(arr))
    info['file'] = str(path)
    return info


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    out_dir = Path(job['results']).parent
    if job.get('backend'):
        scanstream.use_backend(**job['backend'])
    results: List[Dict[str, Any]] = []
    for call in job['calls']:
        for variant in call.get('variants', ['numpy']):
            rec: Dict[str, Any] = {'id': call['id'], 'variant': variant}
            results.append(rec)
            if variant in TORCH_VARIANTS and torch is None:
                rec['skipped'] = 'torch is not installed'
                continue
            args = decode(call.get('args', []), variant)
            kwargs = decode(call.get('kwargs', {}), variant)
            scanstream.transfer_stats(reset=True)
            try:
                out = getattr(m, call['fn'])(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - the test compares the exception
                rec['error'] = {'type': type(err).__name__, 'message': str(err),
                                'input_error': isinstance(err, m.Mast3rInputError),
                                'unsupported': isinstance(err, m.Unsupported)}
                continue
            rec['stats'] = scanstream.transfer_stats()
            rec['outputs'] = [save(leaf, out_dir / f"{call['id']}.{variant}.{i}.npy") for i, leaf in enumerate(leaves(out))]
    info = scanstream.backend_info()
    Path(job['results']).write_text(json.dumps({'backend': info, 'torch': torch.__version__ if torch else None,
                                                'results': results}))


if __name__ == '__main__':
    main()
