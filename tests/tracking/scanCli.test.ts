import { afterAll, describe, expect, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readPly } from '../../src/fusion/ply';

const root = resolve(import.meta.dir, '..', '..');
const tum = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');
const work = mkdtempSync(join(tmpdir(), 'scanstream-scan-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), ...args], { cwd: work, env: { ...process.env, CI: '1' } });
  return { code: r.exitCode ?? -1, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

describe('scanstream scan / eval traj', () => {
  test.skipIf(!existsSync(tum))('scan estimates a TUM trajectory without ground truth, writes trajectory.txt / mesh.ply / report.json; eval traj scores it', async () => {
    const out = join(work, 'tum');
    const r = cli('scan', '--source', `tum:${tum}`, '--frames', '30', '--voxel', '0.02', '--out', out, '--quiet');
    expect(r.code).toBe(0);
    const lines = readFileSync(join(out, 'trajectory.txt'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines.length).toBe(30);
    expect(lines[0]!.split(' ').length).toBe(8);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as {
      frames: number; lost: number; keyframes: number; landmarks: number; framesPerSecond: number;
      stages: Record<string, { medianMs: number }>; evaluation: { ate: { rmse: number } };
    };
    expect(report.frames).toBe(30);
    expect(report.lost).toBe(0);
    expect(report.keyframes).toBeGreaterThanOrEqual(2);
    expect(report.landmarks).toBeGreaterThan(0);
    for (const s of ['prepare', 'track', 'keyframes', 'integrate']) expect(report.stages[s]!.medianMs).toBeGreaterThan(0);
    expect(report.evaluation.ate.rmse).toBeLessThan(0.03);
    const mesh = await readPly(join(out, 'mesh.ply'));
    expect(mesh.indices!.length).toBeGreaterThan(3000);
    expect(readFileSync(join(out, 'trajectory.svg'), 'utf8')).toContain('ATE RMSE');

    const e = cli('eval', 'traj', '--est', join(out, 'trajectory.txt'), '--truth', join(tum, 'groundtruth.txt'), '--plot', join(out, 'plot.svg'));
    expect(e.code).toBe(0);
    const ev = JSON.parse(e.stdout) as { ate: { rmse: number; pairs: number }; rpe: { translation: { rmse: number } } };
    expect(ev.ate.pairs).toBe(30);
    // the 100 Hz truth file associates to the same stamps the scan's own report used
    expect(Math.abs(ev.ate.rmse - report.evaluation.ate.rmse)).toBeLessThan(0.002);
    expect(ev.rpe.translation.rmse).toBeGreaterThan(0);
    expect(existsSync(join(out, 'plot.svg'))).toBe(true);
    const sim = JSON.parse(cli('eval', 'traj', '--est', join(out, 'trajectory.txt'), '--truth', join(tum, 'groundtruth.txt'), '--sim3').stdout) as { ate: { rmse: number; scale: number } };
    expect(sim.ate.rmse).toBeLessThanOrEqual(ev.ate.rmse + 1e-9);
    expect(sim.ate.scale).toBeGreaterThan(0.5);
  }, 60_000);

  test('scan runs on a synthetic source too; bad arguments fail with a message and exit code 2', () => {
    const out = join(work, 'syn');
    const r = cli('scan', '--source', 'synthetic:room?frames=12&width=320&height=240&fx=262.5&fy=262.5', '--voxel', '0.02', '--out', out, '--quiet');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { frames: number; lost: number; evaluation: { ate: { rmse: number } } };
    expect(report.frames).toBe(12);
    expect(report.lost).toBe(0);
    expect(report.evaluation.ate.rmse).toBeLessThan(0.005);
    const bad = cli('scan', '--source', 'synthetic:room');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--out');
    const badTracking = cli('scan', '--source', 'synthetic:room', '--out', out, '--tracking', '{"pyramidLevels": 9}');
    expect(badTracking.code).toBe(2);
    expect(badTracking.stderr).toContain('pyramidLevels');
    const noTruth = cli('eval', 'traj', '--est', join(out, 'trajectory.txt'));
    expect(noTruth.code).toBe(2);
  }, 60_000);
});
