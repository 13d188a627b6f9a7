#!/usr/bin/env node
// Writes the files generated from the kernel table of native/include/scanstream.h:
// src/native/abi.generated.ts (TypeScript layouts and symbols) and
// native/cuda/unsupported.cu (the CUDA backend's answers for kernels it lacks) and
// python/scanstream/_abi.py (the Python package's ctypes layer).
// --check: write nothing; exit 1 naming each file that is out of date.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { cudaUnsupportedPath, pythonAbiPath, readAbi, readCudaImplemented, renderCudaUnsupported, renderPython, renderTs, root, tsPath } from './abi.mjs';

const check = process.argv.includes('--check');
const abi = readAbi();
const outputs = [
  [tsPath, renderTs(abi)],
  [cudaUnsupportedPath, renderCudaUnsupported(abi, readCudaImplemented())],
  [pythonAbiPath, renderPython(abi)],
];
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
process.exit(stale ? 1 : 0);
