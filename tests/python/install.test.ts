/**
 * The package installs as the README says, offline, and finds this checkout's
 * library from wherever it is installed; its ctypes layer is current with
 * scanstream.h (scripts/gen-abi.mjs --check, as `npm test` runs it).
 */
import { afterAll, describe, expect, test } from 'bun:test';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/native/library';
import { python, pythonStatus } from './harness';

const py = pythonStatus();

test('python/scanstream/_abi.py is generated from the current scanstream.h', () => {
  const r = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'gen-abi.mjs'), '--check'], { encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

/** venv with the system's numpy (and torch), as the README's commands make it; null when python3-venv is missing */
function makeVenv(dir: string): string | null {
  const r = spawnSync(python, ['-m', 'venv', '--system-site-packages', dir], { encoding: 'utf8' });
  return r.status === 0 ? join(dir, 'bin') : null;
}

const probe = [
  'import json, numpy as np, scanstream, scanstream.mast3r as m',
  'A = np.eye(3, 8, dtype=np.float32); B = np.eye(5, 8, dtype=np.float32)[::-1].copy()',
  'nn_a, nn_b = m.bruteforce_reciprocal_nns(A, B, dist="dot")',
  'print(json.dumps({"file": scanstream.__file__, "root": str(scanstream.project_root()), "nn_a": nn_a.tolist(), "backend": scanstream.backend_info()["backend"]}))',
].join('\n');

describe.skipIf(py.missing !== null)(`pip install ./python${py.missing ? ` (skipped: ${py.missing})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'scanstream-venv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? dir, PYTHONDONTWRITEBYTECODE: '1' };
  const bin = makeVenv(join(dir, 'venv'));

  test.skipIf(bin === null)(`into a venv, offline: the installed package finds this checkout from anywhere${bin === null ? ' (skipped: python3 -m venv failed: apt-get install python3-venv)' : ''}`, () => {
    const b = bin as string;
    // --no-index: nothing may be downloaded; the in-tree build backend needs nothing installed, even under build isolation
    const inst = spawnSync(join(b, 'pip'), ['install', '--no-index', '--no-deps', join(projectRoot, 'python')], { encoding: 'utf8', env, cwd: dir });
    if (inst.status !== 0) console.error(inst.stdout, inst.stderr);
    expect(inst.status).toBe(0);
    const r = spawnSync(join(b, 'python'), ['-c', probe], { encoding: 'utf8', env, cwd: dir });
    if (r.status !== 0) console.error(r.stderr);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { file: string; root: string; nn_a: number[] };
    expect(out.file.startsWith(join(dir, 'venv'))).toBe(true);
    expect(out.root).toBe(projectRoot);
    expect(out.nn_a).toEqual([4, 3, 2]);
  });

  test.skipIf(bin === null)('editable (pip install -e ./python): the package stays in the checkout', () => {
    const b = bin as string;
    const inst = spawnSync(join(b, 'pip'), ['install', '--no-index', '--no-deps', '-e', join(projectRoot, 'python')], { encoding: 'utf8', env, cwd: dir });
    if (inst.status !== 0) console.error(inst.stdout, inst.stderr);
    expect(inst.status).toBe(0);
    const r = spawnSync(join(b, 'python'), ['-c', probe], { encoding: 'utf8', env, cwd: dir });
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as { file: string; root: string };
    expect(out.file).toBe(join(projectRoot, 'python', 'scanstream', '__init__.py'));
    expect(out.root).toBe(projectRoot);
  });
});
