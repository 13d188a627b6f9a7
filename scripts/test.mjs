#!/usr/bin/env node
// The full test suite: type-check, Metal-through-C++ shim compile, then `bun test`.
// Ends with the line "N passed, N failed, N skipped" and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const bun = existsSync(bin('bun')) ? bin('bun') : 'bun';
let passed = 0;
let failed = 0;
let skipped = 0;

function step(name, cmd, argv) {
  console.log(`\n== ${name}: ${[cmd, ...argv].join(' ')}`);
  const r = spawnSync(cmd, argv, { cwd: root, stdio: 'inherit' });
  if (r.status === 0) {
    passed++;
    console.log(`== ${name}: ok`);
  } else {
    failed++;
    console.log(`== ${name}: FAILED (exit ${r.status ?? r.signal})`);
  }
  return r.status === 0;
}

// the native library must exist before bun:ffi tests load it
step('native build', process.execPath, [join(root, 'scripts', 'build-native.mjs'), '--if-needed', '--standin']);
step('ABI tables generated from scanstream.h are current', process.execPath, [join(root, 'scripts', 'gen-abi.mjs'), '--check']);
step('typecheck', bin('tsc'), ['--noEmit', '-p', '.']);
if (existsSync(join(root, 'scripts', 'check-metal.mjs'))) {
  step('metal shim compile', process.execPath, [join(root, 'scripts', 'check-metal.mjs')]);
}

const report = join(root, 'build', 'test-results.xml');
mkdirSync(dirname(report), { recursive: true });
rmSync(report, { force: true });
const extra = process.argv.slice(2);
console.log(`\n== bun test ${extra.join(' ')}`);
// generous per-test limit: the suite runs native kernels, servers and a browser on a 2-core machine
const r = spawnSync(bun, ['test', '--timeout', '120000', '--reporter=junit', `--reporter-outfile=${report}`, ...extra], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, FORCE_COLOR: '0' },
});
if (!existsSync(report)) {
  console.log('bun test wrote no report');
  failed++;
} else {
  const xml = readFileSync(report, 'utf8');
  const cases = xml.match(/<testcase\b[^>]*?(\/>|>[\s\S]*?<\/testcase>)/g) ?? [];
  let f = 0;
  let s = 0;
  for (const c of cases) {
    if (/<(failure|error)\b/.test(c)) f++;
    else if (/<skipped\b/.test(c)) s++;
  }
  const p = cases.length - f - s;
  passed += p;
  failed += f;
  skipped += s;
  if (cases.length === 0) {
    console.log('bun test ran no test');
    failed++;
  }
  if (r.status !== 0 && f === 0) {
    console.log(`bun test exited ${r.status ?? r.signal} without a failing test case (an error outside tests?)`);
    failed++;
  }
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
