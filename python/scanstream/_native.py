"""The native library through ctypes: discovery, contexts, buffers and the CPU fallback.

Mirrors src/native/library.ts and src/native/context.ts: the same libraries, the
same SCANSTREAM_BACKEND / SCANSTREAM_LIB / SCANSTREAM_ROOT variables, the same
rule for `auto`, and the same CPU fallback for kernels a backend lacks (in place
where memory is unified, download -> CPU -> upload where it is mirrored).
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set

from . import _abi

BACKENDS = ('cpu', 'cuda', 'metal', 'metal-emu')
CHOICES = BACKENDS + ('auto',)
BACKEND_CODES = {
    'cpu': _abi.SS_BACKEND_CPU,
    'cuda': _abi.SS_BACKEND_CUDA,
    'metal': _abi.SS_BACKEND_METAL,
    'metal-emu': _abi.SS_BACKEND_METAL_EMU,
}
_SUFFIX = 'dylib' if sys.platform == 'darwin' else 'so'
_HEADER = Path('native') / 'include' / 'scanstream.h'


class NativeLoadError(RuntimeError):
    """A backend library is missing, cannot be opened or has another ABI version."""


class NativeError(RuntimeError):
    """A native call returned an error status; the message is ss_last_error's."""

    def __init__(self, call: str, status: int, message: str) -> None:
        super().__init__(f'{call} failed (status {status}): {message}')
        self.call = call
        self.status = status


def project_root() -> Path:
    """The checkout whose build/ holds the libraries.

    SCANSTREAM_ROOT wins; else the path `pip install ./python` recorded; else the
    checkout this file sits in (running with PYTHONPATH=python)."""
    env = os.environ.get('SCANSTREAM_ROOT')
    if env:
        return Path(env).resolve()
    try:
        from ._root import ROOT  # written by the build backend at install time
        if (Path(ROOT) / _HEADER).is_file():
            return Path(ROOT)
    except ImportError:
        pass
    here = Path(__file__).resolve().parent.parent.parent
    if (here / _HEADER).is_file():
        return here
    raise NativeLoadError(
        'scanstream cannot find its checkout: set SCANSTREAM_ROOT to the directory where `npm install` built '
        'the native library, or SCANSTREAM_LIB to the library itself')


def library_path(backend: str) -> Path:
    """Where each backend's library lives after `npm install` (or `swift build` for Metal)."""
    root = project_root()
    if backend == 'cpu':
        return root / 'build' / 'cpu' / f'libscanstream_cpu.{_SUFFIX}'
    if backend == 'cuda':
        return root / 'build' / 'cuda' / f'libscanstream_cuda.{_SUFFIX}'
    if backend == 'metal':
        return root / 'swift' / '.build' / 'release' / f'libScanKit.{_SUFFIX}'
    if backend == 'metal-emu':
        return root / 'build' / 'metal-emu' / f'libscanstream_metal_emu.{_SUFFIX}'
    raise ValueError(f"backend must be one of {', '.join(CHOICES)}; got '{backend}'")


def library_for(backend: str) -> Path:
    """SCANSTREAM_LIB when set (one library for the process), else the backend's build path."""
    override = os.environ.get('SCANSTREAM_LIB')
    return Path(override).resolve() if override else library_path(backend)


def env_backend_choice() -> Optional[str]:
    env = os.environ.get('SCANSTREAM_BACKEND')
    if not env:
        return None
    if env not in CHOICES:
        raise ValueError(f"SCANSTREAM_BACKEND must be {', '.join(CHOICES)}; got '{env}'")
    return env


def resolve_backend(choice: str) -> str:
    """What `auto` means here: Metal on macOS when built, CUDA when built, else the CPU (never the emulator: it is slow)."""
    if choice != 'auto':
        return choice
    if sys.platform == 'darwin' and library_path('metal').exists():
        return 'metal'
    if library_path('cuda').exists():
        return 'cuda'
    return 'cpu'


class Library:
    """One opened library with every core function and kernel typed from _abi."""

    def __init__(self, path: Path, backend: str) -> None:
        if not path.exists():
            hint = ' (run `npm install` or `npm run build:native` in the checkout)' if backend == 'cpu' else ''
            raise NativeLoadError(f'the {backend} backend library was not found at {path}{hint}')
        try:
            self.dll = ctypes.CDLL(str(path))
        except OSError as err:
            raise NativeLoadError(f'could not load {path}: {err}') from err
        self.path = path
        for name, (restype, argtypes) in _abi.CORE_FUNCTIONS.items():
            fn = getattr(self.dll, name)
            fn.restype = restype
            fn.argtypes = list(argtypes)
        version = self.dll.ss_abi_version()
        if version != _abi.ABI_VERSION:
            raise NativeLoadError(
                f'{path} has ABI version {version}, this code expects {_abi.ABI_VERSION}: rebuild it with `npm run build:native`')
        for symbol, kernel in _abi.KERNELS.items():
            size = self.dll.ss_args_sizeof(kernel.name.encode())
            if size != ctypes.sizeof(kernel.args):
                raise NativeLoadError(f'{path}: ss_{kernel.name}_args is {size} bytes, _abi.py says {ctypes.sizeof(kernel.args)}')
            fn = getattr(self.dll, symbol)
            fn.restype = ctypes.c_int32
            fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_void_p] * len(kernel.buffers)


_libraries: Dict[str, Library] = {}
_cannot_start: Set[str] = set()
_announced: Set[str] = set()
_lock = threading.Lock()


def load_library(path: Path, backend: str) -> Library:
    key = str(path)
    lib = _libraries.get(key)
    if lib is None:
        lib = Library(path, backend)
        _libraries[key] = lib
    return lib


class Stats:
    """What moved where (for tests and reports).

    wrapped: arrays handed to kernels in place; converted_bytes: input copies made to
    reach C-contiguous float32 (other dtypes, strided views, GPU tensors);
    copied_bytes: copies between arrays and backend buffers (mirrored memory, CUDA);
    fallback_*: kernels run on the CPU in a lacking backend's place."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.wrapped = 0
        self.converted_bytes = 0
        self.copied_bytes = 0
        self.fallback_calls = 0
        self.fallback_bytes = 0
        self.fallback_kernels: List[str] = []

    def as_dict(self) -> Dict[str, Any]:
        return {'wrapped': self.wrapped, 'converted_bytes': self.converted_bytes, 'copied_bytes': self.copied_bytes, 'fallback_calls': self.fallback_calls,
                'fallback_bytes': self.fallback_bytes, 'fallback_kernels': list(self.fallback_kernels)}


stats = Stats()


class Buffer:
    """Backend memory (ss_buffer_create: page-aligned, zero-filled) or caller memory wrapped without a copy."""

    def __init__(self, ctx: 'Context', handle: int, nbytes: int, owned: bool) -> None:
        self.ctx = ctx
        self.handle: Optional[int] = handle
        self.nbytes = nbytes
        self.owned = owned
        self.host = int(ctx.lib.dll.ss_buffer_host_ptr(handle) or 0)
        if not self.host:
            raise NativeError('ss_buffer_host_ptr', _abi.SS_ERR_INTERNAL, 'null host pointer')
        self._alias: Optional[int] = None

    def _live(self) -> int:
        if self.handle is None:
            raise RuntimeError('scanstream: buffer used after destroy()')
        return self.handle

    def view(self) -> ctypes.Array:
        """The host memory as a ctypes byte array (numpy.frombuffer reads it without a copy)."""
        self._live()
        return (ctypes.c_char * self.nbytes).from_address(self.host)

    def upload(self, offset: int = 0, nbytes: Optional[int] = None) -> None:
        n = self.nbytes - offset if nbytes is None else nbytes
        self.ctx.check('ss_buffer_upload', self.ctx.lib.dll.ss_buffer_upload(self.ctx.handle, self._live(), offset, n))

    def download(self, offset: int = 0, nbytes: Optional[int] = None) -> None:
        n = self.nbytes - offset if nbytes is None else nbytes
        self.ctx.check('ss_buffer_download', self.ctx.lib.dll.ss_buffer_download(self.ctx.handle, self._live(), offset, n))

    def alias_in(self, cpu: 'Context') -> int:
        """This memory as a buffer of the CPU fallback context (ss_buffer_wrap, no copy)."""
        if self._alias is None:
            out = ctypes.c_void_p()
            status = cpu.lib.dll.ss_buffer_wrap(cpu.handle, self.host, self.nbytes, ctypes.byref(out))
            cpu.check('ss_buffer_wrap', status)
            self._alias = int(out.value or 0)
        return self._alias

    def destroy(self) -> None:
        if self.handle is None:
            return
        if self._alias is not None and self.ctx.cpu is not None:
            self.ctx.cpu.lib.dll.ss_buffer_destroy(self.ctx.cpu.handle, self._alias)
        self._alias = None
        self.ctx.lib.dll.ss_buffer_destroy(self.ctx.handle, self.handle)
        self.handle = None


class Context:
    """A backend instance. A kernel the backend lacks (ss_kernel_supported = 0) runs on a
    CPU context over the same memory, as NativeContext does in TypeScript."""

    def __init__(self, lib: Library, backend: str, handle: int, threads: int) -> None:
        self.lib = lib
        self.backend = backend
        self._handle: Optional[int] = handle
        self.requested_threads = threads
        dll = lib.dll
        self.label = (dll.ss_backend_name(handle) or b'?').decode()
        self.threads = int(dll.ss_context_threads(handle))
        self.unified = dll.ss_context_unified_memory(handle) == 1
        self.lacking: Set[str] = set()
        for symbol in _abi.KERNELS:
            answer = dll.ss_kernel_supported(handle, symbol.encode())
            if answer == -1:
                raise NativeError('ss_kernel_supported', _abi.SS_ERR_INTERNAL,
                                  f'{self.label} does not know {symbol}: library and header out of step')
            if answer != 1:
                self.lacking.add(symbol)
        self.cpu: Optional[Context] = None
        # a CPU context's thread pool runs one parallel job at a time; ctypes drops the GIL during calls
        self._call_lock = threading.Lock()

    @staticmethod
    def create(backend: Optional[str] = None, threads: int = 0, library: Optional[str] = None) -> 'Context':
        choice = backend or env_backend_choice() or 'auto'
        if choice not in CHOICES:
            raise ValueError(f"backend must be {', '.join(CHOICES)}; got '{choice}'")
        resolved = resolve_backend(choice)
        if choice == 'auto' and resolved in _cannot_start:
            return Context.open('cpu', threads)
        try:
            return Context.open(resolved, threads, library)
        except (NativeLoadError, NativeError) as err:
            # 'auto' found a GPU library this machine cannot run (no device, no driver): the CPU always can
            if choice != 'auto' or resolved == 'cpu' or os.environ.get('SCANSTREAM_LIB') or library:
                raise
            _cannot_start.add(resolved)
            sys.stderr.write(f'scanstream: the {resolved} backend is built but cannot start here ({err}); using the CPU backend\n')
            return Context.open('cpu', threads)

    @staticmethod
    def open(backend: str, threads: int = 0, library: Optional[str] = None) -> 'Context':
        lib = load_library(Path(library) if library else library_for(backend), backend)
        out = ctypes.c_void_p()
        status = lib.dll.ss_context_create(BACKEND_CODES[backend], threads, ctypes.byref(out))
        if status != 0 or not out.value:
            raise NativeError('ss_context_create', status, f'cannot create a {backend} context')
        return Context(lib, backend, int(out.value), threads)

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise RuntimeError('scanstream: context used after destroy()')
        return self._handle

    def supports(self, kernel: str) -> bool:
        return kernel not in self.lacking

    def last_error(self) -> str:
        return (self.lib.dll.ss_last_error(self.handle) or b'').decode(errors='replace')

    def check(self, call: str, status: int) -> None:
        if status != 0:
            raise NativeError(call, status, self.last_error())

    def buffer(self, nbytes: int) -> Buffer:
        if nbytes <= 0:
            raise ValueError(f'buffer size must be a positive number of bytes, got {nbytes}')
        out = ctypes.c_void_p()
        self.check('ss_buffer_create', self.lib.dll.ss_buffer_create(self.handle, nbytes, ctypes.byref(out)))
        return Buffer(self, int(out.value or 0), nbytes, owned=True)

    def wrap(self, address: int, nbytes: int) -> Optional[Buffer]:
        """Caller memory as a buffer without a copy; None where the backend cannot read it in place (CUDA)."""
        if not self.unified or nbytes <= 0:
            return None
        out = ctypes.c_void_p()
        status = self.lib.dll.ss_buffer_wrap(self.handle, address, nbytes, ctypes.byref(out))
        # a backend may refuse some memory (Metal's no-copy buffers want page-aligned memory): a copy always works
        if status != 0 or not out.value:
            return None
        return Buffer(self, int(out.value), nbytes, owned=False)

    def fallback_context(self) -> 'Context':
        """The CPU context a lacking kernel runs on (this context itself on the CPU backend)."""
        if not self.lacking:
            return self
        if self.cpu is None:
            self.cpu = Context.open('cpu', self.requested_threads, str(library_path('cpu')))
            with _lock:
                key = f'{self.label}@{_abi.ABI_VERSION}'
                if key not in _announced:
                    _announced.add(key)
                    sys.stderr.write(f'scanstream: the {self.label} backend lacks {len(self.lacking)} of {len(_abi.KERNELS)} kernels; '
                                     f"they run on the CPU: {', '.join(sorted(self.lacking))}\n")
        return self.cpu

    def call(self, kernel: str, args: ctypes.Structure, buffers: Sequence[Buffer]) -> None:
        """One kernel call; raises NativeError with ss_last_error on failure."""
        spec = _abi.KERNELS[kernel]
        if len(buffers) != len(spec.buffers):
            raise TypeError(f'{kernel}: {len(spec.buffers)} buffers expected, got {len(buffers)}')
        for b in buffers:
            if b.ctx is not self:
                raise TypeError(f'{kernel}: a buffer of another context was passed')
        if kernel in self.lacking:
            cpu = self.fallback_context()
            self._call_on_cpu(cpu, kernel, args, buffers)
            return
        fn = getattr(self.lib.dll, kernel)
        with self._call_lock:
            status = fn(self.handle, ctypes.byref(args), *[b._live() for b in buffers])
            self.check(kernel, status)

    def _call_on_cpu(self, cpu: 'Context', kernel: str, args: ctypes.Structure, buffers: Sequence[Buffer]) -> None:
        spec = _abi.KERNELS[kernel]
        if not self.unified:
            # the device copy is the truth: bring every buffer to the host mirror the CPU kernel reads
            for b in buffers:
                b.download()
                stats.fallback_bytes += b.nbytes
        fn = getattr(cpu.lib.dll, kernel)
        with cpu._call_lock:
            status = fn(cpu.handle, ctypes.byref(args), *[b.alias_in(cpu) for b in buffers])
            cpu.check(kernel, status)
        if not self.unified:
            for b, (_, role) in zip(buffers, spec.buffers):
                if role != 'in':
                    b.upload()
                    stats.fallback_bytes += b.nbytes
        stats.fallback_calls += 1
        if kernel not in stats.fallback_kernels:
            stats.fallback_kernels.append(kernel)

    def destroy(self) -> None:
        if self._handle is None:
            return
        if self.cpu is not None and self.cpu is not self:
            self.cpu.destroy()
        self.cpu = None
        self.lib.dll.ss_context_destroy(self._handle)
        self._handle = None


_default: Optional[Context] = None


def default_context() -> Context:
    """The process-wide context, created on first use (SCANSTREAM_BACKEND, else auto)."""
    global _default
    with _lock:
        if _default is None or _default._handle is None:
            _default = Context.create()
        return _default


def set_default_context(ctx: Optional[Context]) -> None:
    """Replaces the process-wide context (tests: a stand-in partial backend); None: make a new one on next use."""
    global _default
    with _lock:
        _default = ctx
