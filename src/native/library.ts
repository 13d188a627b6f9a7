import { dlopen, suffix } from 'bun:ffi';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ABI_VERSION } from './abi.generated';
import { NativeLoadError } from './errors';
import { symbols } from './symbols';

export { ABI_VERSION };

/**
 * The backends, in one list: the CPU (the reference), CUDA, Metal (ScanKit, Swift,
 * macOS) and metal-emu (the Metal kernels compiled as C++ and run on the CPU by an
 * emulated dispatcher: for checking the Metal code where there is no Mac).
 */
export const backendNames = ['cpu', 'cuda', 'metal', 'metal-emu'] as const;
export type BackendName = (typeof backendNames)[number];
export const backendChoices = [...backendNames, 'auto'] as const;
export type BackendChoice = (typeof backendChoices)[number];

export function isBackendChoice(v: string): v is BackendChoice {
  return (backendChoices as readonly string[]).includes(v);
}

/** ss_context_create's backend codes (SS_BACKEND_* in scanstream.h) */
export const backendCodes: Record<BackendName, number> = { cpu: 1, cuda: 2, metal: 3, 'metal-emu': 4 };

export type NativeLibrary = ReturnType<typeof dlopen<typeof symbols>>;

/** The checkout the libraries are built in (SCANSTREAM_ROOT overrides it, e.g. for a bundled test on another machine). */
export const projectRoot: string = process.env.SCANSTREAM_ROOT ? resolve(process.env.SCANSTREAM_ROOT) : resolve(import.meta.dir, '..', '..');

/** Where each backend's library lives after `npm run build:native` (or `swift build` for Metal). */
export function libraryPath(backend: BackendName): string {
  switch (backend) {
    case 'cpu':
      return join(projectRoot, 'build', 'cpu', `libscanstream_cpu.${suffix}`);
    case 'cuda':
      return join(projectRoot, 'build', 'cuda', `libscanstream_cuda.${suffix}`);
    case 'metal':
      return join(projectRoot, 'swift', '.build', 'release', `libScanKit.${suffix}`);
    case 'metal-emu':
      return join(projectRoot, 'build', 'metal-emu', `libscanstream_metal_emu.${suffix}`);
  }
}

/** The library a backend loads here: SCANSTREAM_LIB when set (one library for the process), else its build path. */
export function libraryFor(backend: BackendName): string {
  const override = process.env.SCANSTREAM_LIB;
  return override && override.length > 0 ? resolve(override) : libraryPath(backend);
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

/** Which backend `auto` means here: Metal on macOS when built, CUDA when built, else the CPU (never the emulator: it is slow). */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice !== 'auto') return choice;
  if (process.platform === 'darwin' && existsSync(libraryPath('metal'))) return 'metal';
  if (existsSync(libraryPath('cuda'))) return 'cuda';
  return 'cpu';
}

const loaded = new Map<string, NativeLibrary>();

/** Opens a library (once per path) and checks its ABI version; the CPU library is built on first use if missing. */
export function loadLibraryAt(path: string, backend: BackendName): NativeLibrary {
  const cached = loaded.get(path);
  if (cached) return cached;
  if (!existsSync(path)) {
    if (backend === 'cpu' && path === libraryPath('cpu')) buildCpuLibrary();
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

/** Opens a backend's library (SCANSTREAM_LIB overrides discovery, e.g. on the GPU machine). */
export function loadLibrary(backend: BackendName): NativeLibrary {
  return loadLibraryAt(libraryFor(backend), backend);
}
