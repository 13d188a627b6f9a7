#!/usr/bin/env node
// `npx scanstream …`: runs the CLI under the Bun binary installed as a devDependency
// (or a Bun on PATH), since the native layer uses bun:ffi.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let bun = 'bun';
if (typeof globalThis.Bun === 'undefined') {
  try {
    const require = createRequire(import.meta.url);
    const candidate = join(dirname(require.resolve('bun/package.json')), 'bin', 'bun.exe');
    if (existsSync(candidate)) bun = candidate;
  } catch {
    // fall back to a bun on PATH
  }
} else {
  bun = process.execPath;
}
const r = spawnSync(bun, [join(root, 'src', 'cli.ts'), ...process.argv.slice(2)], { stdio: 'inherit' });
if (r.error) {
  console.error(`scanstream: could not start Bun (${r.error.message}); install it with npm install`);
  process.exit(1);
}
process.exit(r.status ?? 1);
