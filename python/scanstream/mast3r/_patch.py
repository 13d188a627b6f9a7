"""patch() / unpatch(): scanstream's functions in place of MASt3R's, where MASt3R's code looks them up.

A function is replaced in the module that defines it and in every loaded module
that imported it by name (`from mast3r.fast_nn import fast_reciprocal_NNs` in
mast3r.cloud_opt.sparse_ga, visloc.py run as __main__, …); modules imported
later get the replacement from the defining module. A call scanstream cannot
serve exactly — an option it does not have, a tensor that needs a gradient,
float64 it would compute in float32, an input it refuses — runs MASt3R's own
function, so a patched script computes what it computed before, faster.
"""

from __future__ import annotations

import functools
import importlib
import sys
import threading
import warnings
from collections import Counter
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from .._arrays import Mast3rInputError, strict, torch_module
from .._native import default_context
from ._geometry import depthmap_to_pts3d, geotrf
from ._losses import get_similarities, infonce_loss
from ._matching import bruteforce_reciprocal_nns, fast_reciprocal_NNs, merge_corres
from ._triangulation import batched_triangulate, matches_to_depths
from ._tsdf import random_seed, refine_depths_tsdf


class PatchStats:
    """Per patched name: calls scanstream served, calls sent to MASt3R's original, and the last reason why."""

    def __init__(self) -> None:
        self.served: Counter = Counter()
        self.original: Counter = Counter()
        self.reasons: Dict[str, str] = {}

    def as_dict(self) -> Dict[str, Any]:
        names = sorted(set(self.served) | set(self.original))
        return {n: {'served': self.served[n], 'original': self.original[n], 'reason': self.reasons.get(n)} for n in names}


_stats = PatchStats()
_lock = threading.RLock()


def _call_original(name: str, err: Exception, original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    _stats.original[name] += 1
    _stats.reasons[name] = str(err)
    return original(*args, **kwargs)


def _serve(name: str, ours: Callable[..., Any], original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    token = strict.set(True)
    try:
        result = ours(*args, **kwargs)
    except Mast3rInputError as err:
        failure: Optional[Exception] = err
    else:
        failure = None
    finally:
        strict.reset(token)
    if failure is not None:
        return _call_original(name, failure, original, *args, **kwargs)
    _stats.served[name] += 1
    return result


def _function(name: str, ours: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def patched(*args: Any, **kwargs: Any) -> Any:
            return _serve(name, ours, original, *args, **kwargs)
        return patched
    return make


def _infonce_loss(original: Callable[..., Any]) -> Callable[..., Any]:
    """InfoNCE.loss (a method): mode 'proper' is served; 'all' and 'dual' run the original."""
    name = 'mast3r.losses.InfoNCE.loss'

    @functools.wraps(original)
    def loss(self: Any, desc1: Any, desc2: Any, valid_matches: Any = None, euc: bool = False) -> Any:
        if getattr(self, 'mode', None) != 'proper':
            return _call_original(name, Mast3rInputError(f"mode '{getattr(self, 'mode', None)}' is not served"), original,
                                  self, desc1, desc2, valid_matches, euc)

        def ours(self: Any, desc1: Any, desc2: Any, valid_matches: Any = None, euc: bool = False) -> Any:
            return infonce_loss(desc1, desc2, valid_matches, euc, temperature=self.temperature, eps=self.eps, reduction='none')
        return _serve(name, ours, original, self, desc1, desc2, valid_matches, euc)
    return loss


def _refine_depths_with_tsdf(original: Callable[..., Any]) -> Callable[..., Any]:
    """TSDFPostProcess._refine_depths_with_TSDF: one iteration over images of one size is served, on
    every image at once; the samples come from Philox keyed by a seed drawn from torch's generator."""
    name = 'mast3r.cloud_opt.tsdf_optimizer.TSDFPostProcess._refine_depths_with_TSDF'

    @functools.wraps(original)
    def refine(self: Any, TSDF_filtering_thresh: float, niter: int = 1, nsamples: int = 1000) -> Any:
        def ours(self: Any, TSDF_filtering_thresh: float, niter: int = 1, nsamples: int = 1000) -> Any:
            if niter != 1:
                raise Mast3rInputError(f'niter: {niter} iterations are not served (1 is)')
            torch = torch_module()
            depths = self._get_depthmaps()
            if len({tuple(d.shape) for d in depths}) != 1:
                raise Mast3rInputError('depths: images of different sizes are not served')
            focals = self.optimizer.get_focals().detach().cpu().numpy().astype(np.float32)
            pps = self.optimizer.get_principal_points().detach().cpu().numpy().astype(np.float32)
            n = len(depths)
            focals = np.stack([focals, focals], axis=-1) if focals.ndim == 1 else focals.reshape(n, 2)
            K = np.zeros((n, 3, 3), np.float32)
            K[:, 0, 0], K[:, 1, 1] = focals[:, 0], focals[:, 1]
            K[:, :2, 2] = pps.reshape(n, 2)
            K[:, 2, 2] = 1
            poses = self.optimizer.get_im_poses().detach()
            D = torch.stack([d.detach() for d in depths])
            C = torch.stack([c.detach().to(D.device) for c in self.im_conf])
            out = refine_depths_tsdf(D, C, poses.to(D.device), K, TSDF_filtering_thresh, nsamples, seed=random_seed())
            self.TSDF_im_depthmaps = [d.log() for d in out]
        return _serve(name, ours, original, self, TSDF_filtering_thresh, niter, nsamples)
    return refine


class Target(NamedTuple):
    module: str
    # 'function' or 'Class.method'
    attr: str
    make: Callable[[Callable[..., Any]], Callable[..., Any]]


def _targets() -> List[Target]:
    fns: List[Tuple[str, str, Callable[..., Any]]] = [
        ('mast3r.fast_nn', 'bruteforce_reciprocal_nns', bruteforce_reciprocal_nns),
        ('mast3r.fast_nn', 'fast_reciprocal_NNs', fast_reciprocal_NNs),
        ('mast3r.fast_nn', 'merge_corres', merge_corres),
        ('mast3r.cloud_opt.triangulation', 'batched_triangulate', batched_triangulate),
        ('mast3r.cloud_opt.triangulation', 'matches_to_depths', matches_to_depths),
        ('mast3r.losses', 'get_similarities', get_similarities),
        # dust3r's, imported by MASt3R (mast3r.utils.path_to_dust3r puts dust3r on sys.path first)
        ('dust3r.utils.geometry', 'depthmap_to_pts3d', depthmap_to_pts3d),
        ('dust3r.utils.geometry', 'geotrf', geotrf),
    ]
    out = [Target(m, a, _function(f'{m}.{a}', f)) for m, a, f in fns]
    out.append(Target('mast3r.losses', 'InfoNCE.loss', _infonce_loss))
    out.append(Target('mast3r.cloud_opt.tsdf_optimizer', 'TSDFPostProcess._refine_depths_with_TSDF', _refine_depths_with_tsdf))
    return out


class PatchReport(NamedTuple):
    # 'module.attr' replaced where defined
    patched: List[str]
    # 'module.name' of other modules' references, rebound
    rebound: List[str]
    # module -> why it could not be imported (its functions stay MASt3R's)
    missing: Dict[str, str]


# (owner, attribute, original, replacement) of everything patch() changed
_applied: List[Tuple[Any, str, Any, Any]] = []


def _is_patched(fn: Any) -> bool:
    return getattr(fn, '__scanstream_original__', None) is not None


def patch() -> PatchReport:
    """Replaces MASt3R's functions by scanstream's (see the module docstring); idempotent.

    Loads the native library first, so a missing build fails here, not mid-run."""
    with _lock:
        default_context()
        patched: List[str] = []
        missing: Dict[str, str] = {}
        swaps: Dict[int, Tuple[Any, Any]] = {}
        for t in _targets():
            try:
                mod = importlib.import_module(t.module)
            except Exception as err:  # noqa: BLE001 - a module MASt3R's environment lacks stays unpatched, said in the report
                missing[t.module] = f'{type(err).__name__}: {err}'
                continue
            owner: Any = mod
            attr = t.attr
            if '.' in attr:
                cls_name, attr = attr.split('.', 1)
                owner = getattr(mod, cls_name, None)
                if owner is None:
                    missing[f'{t.module}.{cls_name}'] = 'no such class'
                    continue
            original = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
            if original is None:
                missing[f'{t.module}.{t.attr}'] = 'no such function'
                continue
            if _is_patched(original):
                patched.append(f'{t.module}.{t.attr}')
                continue
            replacement = t.make(original)
            replacement.__scanstream_original__ = original  # type: ignore[attr-defined]
            setattr(owner, attr, replacement)
            _applied.append((owner, attr, original, replacement))
            patched.append(f'{t.module}.{t.attr}')
            if owner is mod:
                swaps[id(original)] = (original, replacement)
        rebound = _rebind(swaps)
        if not patched:
            # most likely run outside MASt3R's checkout (its modules are not on sys.path): say so rather than do nothing quietly
            warnings.warn('scanstream.mast3r.patch(): no MASt3R module could be imported, nothing was patched: ' +
                          '; '.join(f'{k}: {v}' for k, v in missing.items()), RuntimeWarning, stacklevel=2)
        return PatchReport(patched, rebound, missing)


def _rebind(swaps: Dict[int, Tuple[Any, Any]]) -> List[str]:
    """Every module-level name bound to an `old` of swaps now names its `new`."""
    rebound: List[str] = []
    if not swaps:
        return rebound
    for mod_name, mod in list(sys.modules.items()):
        d = getattr(mod, '__dict__', None)
        if not isinstance(d, dict):
            continue
        for key, value in list(d.items()):
            hit = swaps.get(id(value))
            if hit is not None and value is hit[0]:
                setattr(mod, key, hit[1])
                _applied.append((mod, key, hit[0], hit[1]))
                rebound.append(f'{mod_name}.{key}')
    return rebound


def unpatch() -> List[str]:
    """Puts MASt3R's functions back everywhere patch() (or a later import) put scanstream's; returns what it restored."""
    with _lock:
        restored: List[str] = []
        replacements = {id(new): (new, old) for _, _, old, new in _applied}
        for owner, attr, old, new in reversed(_applied):
            current = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
            if current is new:
                setattr(owner, attr, old)
                where = f'{owner.__module__}.{owner.__qualname__}' if isinstance(owner, type) else owner.__name__
                restored.append(f'{where}.{attr}')
        _applied.clear()
        # modules imported after patch() took the replacement by name
        for mod_name, mod in list(sys.modules.items()):
            d = getattr(mod, '__dict__', None)
            if not isinstance(d, dict):
                continue
            for key, value in list(d.items()):
                hit = replacements.get(id(value))
                if hit is not None and value is hit[0]:
                    setattr(mod, key, hit[1])
                    restored.append(f'{mod_name}.{key}')
        return restored


def is_patched() -> bool:
    return bool(_applied)


def patch_stats(reset: bool = False) -> Dict[str, Any]:
    """Per patched function: calls served by scanstream, calls that ran MASt3R's original, and the last reason."""
    out = _stats.as_dict()
    if reset:
        _stats.served.clear()
        _stats.original.clear()
        _stats.reasons.clear()
    return out
