"""MASt3R's get_similarities and the InfoNCE loss value (mast3r/losses.py); the loss never stores the N×N matrix."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from .. import _abi
from .._arrays import (Binder, Mast3rInputError, Unsupported, as_result, float32_input, is_tensor, require_array,
                       require_no_grad, require_nonempty, require_rank, shape_str)


def _descriptors(name: str, x: Any) -> np.ndarray:
    require_array(name, x)
    require_rank(name, x, [2, 3], f'{name} [N, D] or [B, N, D]')
    require_nonempty(name, x)
    # NaN descriptors are allowed, as in MASt3R: NaN similarities, ignored by the loss
    arr = float32_input(name, x)
    return arr if arr.ndim == 3 else arr[None]


def get_similarities(desc1: Any, desc2: Any, euc: bool = False) -> Any:
    """MASt3R's get_similarities: desc1 [B, N, D], desc2 [B, M, D] → [B, N, M] = desc1·desc2ᵀ,
    or 1/(1 + ‖d1 − d2‖) with euc ([N, D] inputs give [N, M]). desc1's kind and dtype."""
    require_no_grad(('desc1', desc1), ('desc2', desc2))
    a = _descriptors('desc1', desc1)
    b = _descriptors('desc2', desc2)
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[2] or len(desc1.shape) != len(desc2.shape):
        raise Mast3rInputError(f'desc1 {shape_str(desc1.shape)} and desc2 {shape_str(desc2.shape)} must share the batch and D')
    batch, n, dim = a.shape
    m = b.shape[1]
    out = np.empty((batch, n, m), np.float32)
    with Binder(['ss_mast3r_similarity']) as bd:
        args = _abi.ss_mast3r_similarity_args(batch=batch, n=n, m=m, dim=dim, euc=1 if euc else 0)
        bd.call('ss_mast3r_similarity', args, bd.input(a), bd.input(b), bd.output(out))
        bd.finish()
    return as_result(out if len(desc1.shape) == 3 else out[0], desc1)


def _mask(valid_matches: Any, batch: int, n: int) -> Optional[np.ndarray]:
    if valid_matches is None:
        return None
    if is_tensor(valid_matches):
        valid_matches = valid_matches.detach().cpu().numpy()
    v = np.asarray(valid_matches)
    if v.dtype != np.bool_ or v.shape != (batch, n):
        raise Mast3rInputError(f'valid_matches: expected a bool mask [{batch}, {n}], got {v.dtype} {shape_str(v.shape)}')
    return v


def infonce_per_pair(desc1: Any, desc2: Any, euc: bool = False, temperature: float = 0.07,
                     eps: float = 1e-8) -> Tuple[np.ndarray, Tuple[int, int]]:
    """InfoNCE 'proper' per pair as float32 [B, N] (row i of desc1 matches row i of desc2)."""
    a = _descriptors('desc1', desc1)
    b = _descriptors('desc2', desc2)
    if a.shape != b.shape:
        raise Mast3rInputError(
            f'desc1 {shape_str(desc1.shape)} and desc2 {shape_str(desc2.shape)} must have the same shape (row i matches row i)')
    if not (isinstance(temperature, (int, float, np.floating)) and 0 < float(temperature) < float('inf')):
        raise Mast3rInputError(f'temperature must be > 0, got {temperature!r}')
    if not (isinstance(eps, (int, float, np.floating)) and float(eps) > 0):
        raise Mast3rInputError(f'eps must be > 0, got {eps!r}')
    batch, n, dim = a.shape
    loss = np.empty((batch, n), np.float32)
    with Binder(['ss_mast3r_infonce']) as bd:
        args = _abi.ss_mast3r_infonce_args(batch=batch, n=n, dim=dim, euc=1 if euc else 0, temperature=float(temperature),
                                           eps=float(eps))
        bd.call('ss_mast3r_infonce', args, bd.input(a), bd.input(b), bd.output(loss))
        bd.finish()
    return loss, (batch, n)


def infonce_loss(desc1: Any, desc2: Any, valid_matches: Any = None, euc: bool = False, temperature: float = 0.07,
                 eps: float = 1e-8, reduction: str = 'mean') -> Any:
    """The value of MASt3R's InfoNCE(mode='proper') on desc1, desc2 [B, N, D]:
    S = exp(sim/τ), loss_i = −[log clip(S_ii/Σ_k S_ki, eps) + log clip(S_ii/Σ_k S_ik, eps)].

    reduction 'none': InfoNCE.loss's per-pair values loss[valid_matches] (float32, 1-d);
    'mean' (MatchingCriterion's default): their mean (0-d). Log-sum-exp in float64;
    the N×N matrix is never stored. No gradient: a tensor that needs one is refused."""
    require_no_grad(('desc1', desc1), ('desc2', desc2))
    if reduction not in ('mean', 'none', 'sum'):
        raise Unsupported(f"reduction: '{reduction}' is not supported, expected 'mean', 'sum' or 'none'")
    loss, (batch, n) = infonce_per_pair(desc1, desc2, euc, temperature, eps)
    mask = _mask(valid_matches, batch, n)
    picked = loss.reshape(-1) if mask is None else loss[mask]
    if reduction == 'none':
        return as_result(np.ascontiguousarray(picked), desc1)
    total = float(np.sum(picked, dtype=np.float64))
    value = total if reduction == 'sum' else (total / picked.size if picked.size else 0.0)
    return as_result(np.array(value, np.float32), desc1)
