import { dlopen, suffix } from 'bun:ffi';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { NativeLoadError } from './errors';
import { symbols } from './symbols';

/** ABI version this TypeScript expects (SS_ABI_VERSION in scanstream.h). */
export const ABI_VERSION = 2;

export type BackendName = 'cpu' | 'cuda' | 'metal';
export type BackendChoice = BackendName | 'auto';

export type NativeLibrary = ReturnType<typeof dlopen<typeof symbols>>;

/** The checkout the libraries are built in (SCANSTREAM_ROOT overrides it, e.g. for a bundled test on another machine). */
export const projectRoot: string = process.env.SCANSTREAM_ROOT ? resolve(process.env.SCANSTREAM_ROOT) : resolve(import.meta.dir, '..', '..');

/** Where each backend's library lives after `npm run build:native`. */
export function libraryPath(backend: BackendName): string {
  switch (backend) {
    case 'cpu':
      return join(projectRoot, 'build', 'cpu', `libscanstream_cpu.${suffix}`);
    case 'cuda':
      return join(projectRoot, 'build', 'cuda', `libscanstream_cuda.${suffix}`);
    case 'metal':
      return join(projectRoot, 'swift', '.build', 'release', `libScanKit.${suffix}`);
  }
}

function buildCpuLibrary(): void {
  const script = join(projectRoot, 'scripts', 'build-native.mjs');
  process.stderr.write('scanstream: the native CPU library is missing; building it now (needs cmake and a C++17 compiler)…\n');
  const r = spawnSync(process.execPath, [script], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) {
    throw new NativeLoadError(
      `could not build ${libraryPath('cpu')}: install cmake and a C++17 compiler (apt-get install cmake g++), then run \`npm run build:native\``,
    );
  }
}

/** Which backend `auto` means here: env SCANSTREAM_LIB wins, then Metal on macOS, CUDA when built, else CPU. */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice !== 'auto') return choice;
  if (process.platform === 'darwin' && existsSync(libraryPath('metal'))) return 'metal';
  if (existsSync(libraryPath('cuda'))) return 'cuda';
  return 'cpu';
}

const loaded = new Map<string, NativeLibrary>();

/**
 * Opens a backend's library (once per path) and checks its ABI version.
 * SCANSTREAM_LIB=/path/to/lib overrides discovery (used on the GPU machine).
 */
export function loadLibrary(backend: BackendName): NativeLibrary {
  const override = process.env.SCANSTREAM_LIB;
  const path = override && override.length > 0 ? resolve(override) : libraryPath(backend);
  const cached = loaded.get(path);
  if (cached) return cached;
  if (!existsSync(path)) {
    if (backend === 'cpu' && !override) buildCpuLibrary();
    else throw new NativeLoadError(`the ${backend} backend library was not found at ${path}`);
  }
  let lib: NativeLibrary;
  try {
    lib = dlopen(path, symbols);
  } catch (e) {
    throw new NativeLoadError(`could not load ${path}: ${(e as Error).message}`);
  }
  const abi = lib.symbols.ss_abi_version();
  if (abi !== ABI_VERSION) {
    lib.close();
    throw new NativeLoadError(
      `${path} has ABI version ${abi}, this code expects ${ABI_VERSION}: rebuild it with \`npm run build:native\``,
    );
  }
  loaded.set(path, lib);
  return lib;
}
