"""PEP 517 / PEP 660 build backend for the scanstream Python package, in plain Python.

Why not setuptools: the wheel must record the checkout it was built from
(scanstream/_root.py), and the build must work offline with nothing to
install; a zip with a dist-info is all a pure-Python wheel is."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

NAME = 'scanstream'
VERSION = '0.1.0'
SUMMARY = "MASt3R's post-processing functions on scanstream's native kernels (ctypes over the checkout's CPU, CUDA or Metal library)"
REQUIRES = ['numpy']
PYTHON = '>=3.8'

HERE = Path(__file__).resolve().parent.parent  # python/
PACKAGE = HERE / NAME
DIST_INFO = f'{NAME}-{VERSION}.dist-info'
WHEEL_NAME = f'{NAME}-{VERSION}-py3-none-any.whl'


def _checkout() -> Optional[Path]:
    """The checkout to record: SCANSTREAM_ROOT, else the one this file sits in (pip builds ./python in place)."""
    env = os.environ.get('SCANSTREAM_ROOT')
    root = Path(env).resolve() if env else HERE.parent
    return root if (root / 'native' / 'include' / 'scanstream.h').is_file() else None


def _metadata() -> str:
    lines = ['Metadata-Version: 2.1', f'Name: {NAME}', f'Version: {VERSION}', f'Summary: {SUMMARY}', 'License: MIT',
             f'Requires-Python: {PYTHON}']
    lines += [f'Requires-Dist: {r}' for r in REQUIRES]
    return '\n'.join(lines) + '\n'


def _wheel_file() -> str:
    return 'Wheel-Version: 1.0\nGenerator: scanstream_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n'


def _sources() -> List[Tuple[str, bytes]]:
    files = []
    for path in sorted(PACKAGE.rglob('*')):
        if path.is_dir() or '__pycache__' in path.parts or path.suffix in ('.pyc', '.pyo') or path.name == '_root.py':
            continue
        files.append((path.relative_to(HERE).as_posix(), path.read_bytes()))
    return files


def _write_wheel(wheel_directory: str, files: List[Tuple[str, bytes]]) -> str:
    files = files + [(f'{DIST_INFO}/METADATA', _metadata().encode()), (f'{DIST_INFO}/WHEEL', _wheel_file().encode()),
                     (f'{DIST_INFO}/top_level.txt', f'{NAME}\n'.encode())]
    record = []
    for name, data in files:
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
        record.append(f'{name},sha256={digest},{len(data)}')
    record.append(f'{DIST_INFO}/RECORD,,')
    files.append((f'{DIST_INFO}/RECORD', ('\n'.join(record) + '\n').encode()))
    path = Path(wheel_directory) / WHEEL_NAME
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        for name, data in files:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return WHEEL_NAME


def get_requires_for_build_wheel(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_editable(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[Dict[str, Any]] = None) -> List[str]:
    return []


def prepare_metadata_for_build_wheel(metadata_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    target = Path(metadata_directory) / DIST_INFO
    target.mkdir(parents=True, exist_ok=True)
    (target / 'METADATA').write_text(_metadata())
    (target / 'WHEEL').write_text(_wheel_file())
    return DIST_INFO


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                metadata_directory: Optional[str] = None) -> str:
    files = _sources()
    root = _checkout()
    if root is not None:
        files.append((f'{NAME}/_root.py', f'# written by scanstream_build at install time\nROOT = {str(root)!r}\n'.encode()))
    return _write_wheel(wheel_directory, files)


def build_editable(wheel_directory: str, config_settings: Optional[Dict[str, Any]] = None,
                   metadata_directory: Optional[str] = None) -> str:
    # the package stays in the checkout (python/scanstream), which is how it finds the checkout
    return _write_wheel(wheel_directory, [(f'{NAME}.pth', f'{HERE}\n'.encode())])


def build_sdist(sdist_directory: str, config_settings: Optional[Dict[str, Any]] = None) -> str:
    base = f'{NAME}-{VERSION}'
    name = f'{base}.tar.gz'
    with tarfile.open(Path(sdist_directory) / name, 'w:gz') as tar:
        for rel in ['pyproject.toml', '_build/scanstream_build.py'] + [n for n, _ in _sources()]:
            tar.add(HERE / rel, arcname=f'{base}/{rel}')
        pkg_info = _metadata().encode()
        info = tarfile.TarInfo(f'{base}/PKG-INFO')
        info.size = len(pkg_info)
        tar.addfile(info, io.BytesIO(pkg_info))
    return name
