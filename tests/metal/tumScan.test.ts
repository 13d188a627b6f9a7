/**
 * The whole RGB-D pipeline on the emulated Metal backend: `scan` of the shared
 * TUM clip with every kernel the Metal backend has running through the MSL
 * emulator. Its files are the same bytes whatever order the emulator runs a
 * threadgroup's threads in and however many OS threads share the
 * threadgroups (no kernel's result depends on scheduling), and it tracks as
 * well as the CPU backend: the ATE against the ground truth within 1 mm of
 * the CPU's, and its trajectory within 1 mm RMSE of the CPU's.
 */
import { afterAll, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { libraryPath } from '../../src/native/library';
import { tumDir } from '../frames/helpers';

const root = resolve(import.meta.dir, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'scanstream-metal-emu-scan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const why = !existsSync(tumDir) ? `the TUM clip is not at ${tumDir}` : !existsSync(libraryPath('metal-emu')) ? 'metal-emu library not built here' : '';

function scan(name: string, backend: string, env: Record<string, string> = {}): { out: string; ate: number } {
  const out = join(work, name);
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), 'scan', '--source', `tum:${tumDir}`, '--out', out, '--quiet', '--backend', backend],
    { cwd: work, env: { ...process.env, CI: '1', SCANSTREAM_BACKEND: '', SCANSTREAM_LIB: '', ...env } });
  if (r.exitCode !== 0) console.error(r.stderr.toString());
  expect(r.exitCode).toBe(0);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { evaluation: { ate: { rmse: number } }; native: { backend: string } };
  expect(report.native.backend).toBe(backend);
  return { out, ate: report.evaluation.ate.rmse };
}

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** ATE RMSE of one trajectory file against another (the CLI's `eval traj`: Horn-aligned, as TUM's tool) */
function ateBetween(est: string, truth: string): number {
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), 'eval', 'traj', '--est', est, '--truth', truth], { cwd: work, env: { ...process.env, CI: '1' } });
  expect(r.exitCode).toBe(0);
  return (JSON.parse(r.stdout.toString()) as { ate: { rmse: number; pairs: number } }).ate.rmse;
}

test.skipIf(!!why)(`scan of the TUM clip on metal-emu: the same files in every thread order, the CPU's accuracy, the CPU's trajectory within 1 mm${why ? ` (skipped: ${why})` : ''}`, () => {
  const forward = scan('forward', 'metal-emu', { SCANSTREAM_METAL_EMU_ORDER: 'forward' });
  const reordered = scan('shuffled', 'metal-emu', { SCANSTREAM_METAL_EMU_ORDER: 'shuffle', SCANSTREAM_METAL_EMU_SEED: '3', SCANSTREAM_METAL_EMU_THREADS: '1' });
  for (const f of ['trajectory.txt', 'mesh.ply']) expect(`${f} ${sha(join(reordered.out, f))}`).toBe(`${f} ${sha(join(forward.out, f))}`);
  const cpu = scan('cpu', 'cpu');
  expect(Math.abs(forward.ate - cpu.ate)).toBeLessThan(0.001);
  expect(ateBetween(join(forward.out, 'trajectory.txt'), join(cpu.out, 'trajectory.txt'))).toBeLessThan(0.001);
}, 300_000);
