#!/usr/bin/env node
// Builds the native CPU backend (build/cpu/libscanstream_cpu.*) with CMake.
// --if-needed: skip when the library is newer than every native source.
// --cuda: also build the CUDA backend (needs nvcc; no GPU needed to build).
// --standin: also build the partial stand-in backend the fallback tests use.
// On macOS also ScanKit (swift/, the Metal backend) with `swift build` where Swift is installed (--no-swift: not).
// Where clang++ is installed (and bun, which generates the emulator's bindings), also
// the metal-emu backend (build/metal-emu): the Metal kernels run by the MSL emulator.
// SCANSTREAM_NO_METAL_EMU=1 skips it. Always rewrites ScanKit's embedded Metal source
// (swift/Sources/ScanKit/MetalSource.generated.swift) when metal/ changed.
// Run by `npm install` (postinstall) and on first use by the FFI facade.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const ext = process.platform === 'darwin' ? 'dylib' : 'so';
const lib = join(root, 'build', 'cpu', `libscanstream_cpu.${ext}`);

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(p));
    else newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

function have(cmd) {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function run(cmd, argv) {
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  return r.status === 0;
}

const strict = !args.has('--if-needed') || process.env.SCANSTREAM_STRICT_BUILD === '1';
const standin = join(root, 'build', 'cpu', `libscanstream_standin.${ext}`);
const emuLib = join(root, 'build', 'metal-emu', `libscanstream_metal_emu.${ext}`);
const bun = join(root, 'node_modules', '.bin', 'bun');
const wantEmu = process.env.SCANSTREAM_NO_METAL_EMU !== '1' && have('clang++') && (existsSync(bun) || have('bun'));
const fresh = (path, dirs = ['native']) => existsSync(path) && statSync(path).mtimeMs > Math.max(...dirs.map((d) => newestSource(join(root, d))));
// the Metal source ScanKit embeds: generated from metal/ with no compiler, so always current
if (!run(process.execPath, [join(root, 'scripts', 'gen-metal-source.mjs')])) {
  console.error('scanstream: could not generate the Metal source (scripts/gen-metal-source.mjs)');
  process.exit(1);
}
// ScanKit (swift/): the Metal backend, on macOS where a Swift toolchain is present (Xcode or
// the Command Line Tools). Its failure never fails the install: the CPU backend is built and
// `auto` uses it. --no-swift skips it.
const scanKitLib = join(root, 'swift', '.build', 'release', 'libScanKit.dylib');
function scanKitFresh() {
  if (!existsSync(scanKitLib)) return false;
  const sources = ['swift/Sources', 'swift/Package.swift', 'native', 'metal'].map((p) => join(root, p)).filter((p) => existsSync(p));
  return statSync(scanKitLib).mtimeMs > Math.max(...sources.map((p) => (statSync(p).isDirectory() ? newestSource(p) : statSync(p).mtimeMs)));
}
function buildScanKit() {
  // `xcode-select -p` fails quietly where no developer tools are installed (`swift` would offer to install them)
  if (spawnSync('xcode-select', ['-p'], { stdio: 'ignore' }).status !== 0 || !have('swift')) {
    console.error('scanstream: no Swift toolchain (xcode-select --install), so ScanKit (the Metal backend) was not built; the CPU backend is used');
    return;
  }
  console.error('scanstream: building ScanKit, the Metal backend (swift build -c release --package-path swift)…');
  if (run('swift', ['build', '-c', 'release', '--package-path', 'swift']) && existsSync(scanKitLib)) {
    console.error(`scanstream: built ${scanKitLib}`);
  } else {
    console.error('scanstream: ScanKit (the Metal backend) did not build (see the swift output above); carrying on with the CPU backend.\n' +
      '  Retry with: swift build -c release --package-path swift');
  }
}
if (process.platform === 'darwin' && !args.has('--no-swift') && !(args.has('--if-needed') && scanKitFresh())) buildScanKit();
if (args.has('--if-needed') && fresh(lib) && (!args.has('--standin') || fresh(standin)) && !args.has('--cuda') &&
  (!wantEmu || fresh(emuLib, ['native', 'metal']))) {
  process.exit(0);
}
if (!have('cmake')) {
  console.error('scanstream: cmake was not found, so the native CPU backend was not built.\n' +
    '  Install CMake and a C++17 compiler (Debian/Ubuntu: apt-get install cmake g++; macOS: xcode-select --install && brew install cmake),\n' +
    '  then run: npm run build:native');
  process.exit(strict ? 1 : 0);
}
console.error('scanstream: building the native CPU backend (cmake, Release)…');
const ok = run('cmake', ['-S', 'native', '-B', 'build/cpu', '-DCMAKE_BUILD_TYPE=Release']) &&
  run('cmake', ['--build', 'build/cpu', '--parallel']);
if (!ok) {
  console.error('scanstream: the native build failed (see the compiler output above). A C++17 compiler is required.');
  process.exit(strict ? 1 : 0);
}
if (args.has('--standin') && !run('cmake', ['--build', 'build/cpu', '--parallel', '--target', 'scanstream_standin'])) {
  console.error('scanstream: the stand-in backend did not build');
  process.exit(1);
}
if (wantEmu) {
  console.error('scanstream: building the metal-emu backend (the Metal kernels through the MSL emulator, clang++)…');
  const generator = have('ninja') ? ['-G', 'Ninja'] : [];
  const emuOk = (existsSync(join(root, 'build', 'metal-emu', 'CMakeCache.txt')) ||
      run('cmake', ['-S', 'native/metal_host', '-B', 'build/metal-emu', ...generator, '-DCMAKE_BUILD_TYPE=Release'])) &&
    run('cmake', ['--build', 'build/metal-emu', '--parallel']);
  if (!emuOk) {
    console.error('scanstream: the metal-emu backend did not build (see above); the CPU backend is unaffected');
    if (strict) process.exit(1);
  }
}
if (args.has('--cuda')) {
  if (!have('nvcc')) {
    console.error('scanstream: --cuda given but nvcc was not found');
    process.exit(1);
  }
  const cudaOk = run(process.execPath, [join(root, 'scripts', 'gen-abi.mjs')]) &&
    run('cmake', ['-S', 'native/cuda', '-B', 'build/cuda', '-DCMAKE_BUILD_TYPE=Release']) &&
    run('cmake', ['--build', 'build/cuda', '--parallel']);
  if (!cudaOk) process.exit(1);
}
