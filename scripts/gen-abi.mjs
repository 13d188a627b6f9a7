#!/usr/bin/env node
// Writes the files generated from the kernel table of native/include/scanstream.h:
// src/native/abi.generated.ts (TypeScript layouts and symbols) and
// native/cuda/unsupported.cu (the CUDA backend's answers for kernels it lacks),
// native/metal_host/unsupported.cpp (the Metal host logic's answers for kernels it lacks),
// native/metal_emu/exports.cpp (the emulator library's ss_<kernel> over the host logic) and
// python/scanstream/_abi.py (the Python package's ctypes layer).
// --check: write nothing; exit 1 naming each file that is out of date.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import {
  cudaUnsupportedPath, metalEmuExportsPath, metalUnsupportedPath, pythonAbiPath, readAbi, readCudaImplemented, readMetalImplemented, renderCudaUnsupported,
  renderMetalEmuExports, renderMetalUnsupported, renderPython, renderTs, root, tsPath,
} from './abi.mjs';

// ScanKit (swift/): the exported ABI in Swift and the units that compile the shared host logic into it
import { renderSwiftExports, renderSwiftHostUnits, staleSwiftHostUnits, swiftExportsPath } from './abi.mjs';
import { unlinkSync } from 'node:fs';

const check = process.argv.includes('--check');
const abi = readAbi();
const outputs = [
  [tsPath, renderTs(abi)],
  [cudaUnsupportedPath, renderCudaUnsupported(abi, readCudaImplemented())],
  [metalUnsupportedPath, renderMetalUnsupported(abi, readMetalImplemented())],
  [metalEmuExportsPath, renderMetalEmuExports(abi)],
  [pythonAbiPath, renderPython(abi)],
];
outputs.push([swiftExportsPath, renderSwiftExports(abi)], ...renderSwiftHostUnits());
let stale = 0;
for (const [path, text] of outputs) {
  const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
  if (current === text) continue;
  if (check) {
    console.error(`${relative(root, path)} is out of date with scanstream.h: run node scripts/gen-abi.mjs`);
    stale++;
  } else {
    writeFileSync(path, text);
    console.error(`scanstream: wrote ${relative(root, path)}`);
  }
}
// a ScanKitHost unit whose source is gone
for (const path of staleSwiftHostUnits()) {
  if (check) {
    console.error(`${relative(root, path)} compiles a source that no longer exists: run node scripts/gen-abi.mjs`);
    stale++;
  } else {
    unlinkSync(path);
    console.error(`scanstream: removed ${relative(root, path)}`);
  }
}
process.exit(stale ? 1 : 0);
