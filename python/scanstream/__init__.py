"""scanstream from Python: the native kernels of the scanstream checkout through ctypes.

`scanstream.mast3r` holds MASt3R's post-processing functions; this module says
which backend runs them."""

from typing import Any, Dict, Optional

from ._native import Context, NativeError, NativeLoadError, default_context, library_path, project_root, set_default_context
from ._native import stats as _stats

__version__ = '0.1.0'


def backend_info() -> Dict[str, Any]:
    """The process-wide backend: its name, library, whether kernels read host memory, and the kernels it lacks (run on the CPU)."""
    ctx = default_context()
    return {'backend': ctx.label, 'library': str(ctx.lib.path), 'threads': ctx.threads, 'unified_memory': ctx.unified,
            'cpu_fallback_kernels': sorted(ctx.lacking)}


def use_backend(backend: Optional[str] = None, threads: int = 0, library: Optional[str] = None) -> Dict[str, Any]:
    """Switches the process-wide backend (cpu, cuda, metal, metal-emu, auto; None: SCANSTREAM_BACKEND, else auto).
    library: a library to load instead of the backend's own (tests: the partial stand-in)."""
    set_default_context(Context.create(backend, threads, library))
    return backend_info()


def transfer_stats(reset: bool = False) -> Dict[str, Any]:
    """Arrays read in place, bytes converted or copied, CPU fallback calls since the last reset."""
    out = _stats.as_dict()
    if reset:
        _stats.reset()
    return out


__all__ = ['backend_info', 'use_backend', 'transfer_stats', 'Context', 'NativeError', 'NativeLoadError', 'library_path',
           'project_root']
