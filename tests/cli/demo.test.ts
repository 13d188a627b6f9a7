import { afterAll, expect, setDefaultTimeout, test } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readPly } from '../../src/fusion/ply';

setDefaultTimeout(120_000);
const root = resolve(import.meta.dir, '..', '..');
const work = mkdtempSync(join(tmpdir(), 'scanstream-demo-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface QualityReport { quality: { accuracy: { median: number; mean: number }; completeness: number } }

test('demo --headless fuses the synthetic room and writes a mesh, its truth and a report meeting the accuracy targets', async () => {
  const out = join(work, 'headless');
  const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), 'demo', '--headless', '--frames', '20', '--out', out], { env: { ...process.env, CI: '1' } });
  expect(r.exitCode).toBe(0);
  expect(r.stdout.toString()).toContain(join(out, 'mesh.ply'));
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as QualityReport & { frames: number };
  expect(report.frames).toBe(20);
  expect(report.quality.accuracy.median).toBeLessThanOrEqual(0.0005);
  expect(report.quality.accuracy.mean).toBeLessThanOrEqual(0.001);
  expect(report.quality.completeness).toBeGreaterThanOrEqual(0.99);
  expect((await readPly(join(out, 'mesh.ply'))).indices!.length).toBeGreaterThan(30_000);
});

test('the live demo serves the viewer, exports and scores the mesh when the sequence ends, and stops cleanly on SIGINT', async () => {
  const out = join(work, 'live');
  const proc = Bun.spawn([process.execPath, join(root, 'src', 'cli.ts'), 'demo', '--frames', '12', '--pace', 'fast', '--port', '0', '--no-open', '--out', out], {
    env: { ...process.env, CI: '1' }, stdout: 'pipe', stderr: 'pipe',
  });
  let text = '';
  const decoder = new TextDecoder();
  const reader = proc.stdout.getReader();
  const deadline = Date.now() + 90_000;
  while (!text.includes('quality:') && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  const url = /viewer\s+(http:\/\/\S+)/.exec(text)?.[1];
  expect(url).toBeDefined();
  const page = await fetch(url!);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain('<html');
  expect(text).toContain('quality:');
  expect(existsSync(join(out, 'mesh.ply'))).toBe(true);
  const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as QualityReport;
  expect(report.quality.accuracy.median).toBeLessThanOrEqual(0.0005);
  expect(report.quality.completeness).toBeGreaterThanOrEqual(0.99);
  proc.kill('SIGINT');
  expect(await proc.exited).toBe(0);
});
