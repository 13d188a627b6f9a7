/**
 * The viewer's buttons against the real server and pipeline worker (with the
 * fake scan module from tests/server): pause/resume, record, export PLY, and
 * "use this device's camera" with Chromium's fake camera.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type ScanServer } from '../../src/server/server';
import type { ViewerSnapshot } from '../../web-viewer/viewerModel';

// browser, ffmpeg and worker start-up on a loaded 2-core machine: generous, bounded
setDefaultTimeout(60000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync',
  '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
  // a synthetic camera, and permission prompts answered yes
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
];
const fakeScan = new URL('../server/fakeScan.ts', import.meta.url).href;

async function until(page: Page, what: string, pred: (s: ViewerSnapshot) => boolean, timeoutMs = 10_000): Promise<ViewerSnapshot> {
  const end = Date.now() + timeoutMs;
  let last: ViewerSnapshot | null = null;
  while (Date.now() < end) {
    last = await page.evaluate(() => window.scanstream!.snapshot()).catch(() => null);
    if (last && pred(last)) return last;
    await Bun.sleep(50);
  }
  throw new Error(`viewer: timed out waiting for ${what}; last status ${JSON.stringify(last?.status)}, frame ${last?.frameIndex}`);
}

describe.skipIf(!haveChromium)('viewer controls', () => {
  let browser: Browser;
  let server: ScanServer;
  let page: Page;
  const dir = mkdtempSync(join(tmpdir(), 'scanstream-viewer-'));

  beforeAll(async () => {
    server = await startServer({ port: 0, source: 'fake:1000000', scanModule: fakeScan, moduleOptions: { intervalMs: 10 }, recordingsDir: dir, meshIntervalMs: 50 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1000, height: 650 } });
    page = await context.newPage();
    await page.goto(server.url);
    await until(page, 'frames', (s) => (s.frameIndex ?? -1) > 3);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('pause and resume', async () => {
    await page.click('#btn-pause');
    const paused = await until(page, 'paused', (s) => s.status?.state === 'paused');
    await page.waitForFunction(() => document.getElementById('btn-pause')?.textContent === 'Resume');
    await Bun.sleep(200);
    const held = (await until(page, 'snapshot', () => true)).frameIndex!;
    expect(held).toBeLessThanOrEqual(paused.frameIndex! + 1);
    await page.click('#btn-pause');
    await until(page, 'running again', (s) => s.status?.state === 'running' && (s.frameIndex ?? 0) > held + 2);
  });

  test('record writes a recording while scanning, and stops', async () => {
    await page.click('#btn-record');
    const rec = await until(page, 'recording', (s) => s.status?.recording != null);
    await page.waitForFunction(() => document.getElementById('btn-record')?.textContent === 'Stop recording');
    await Bun.sleep(200);
    await page.click('#btn-record');
    await until(page, 'recording stopped', (s) => s.status?.recording === null);
    const folder = rec.status!.recording!;
    expect(folder.startsWith(dir)).toBe(true);
    const end = Date.now() + 3000;
    while (!existsSync(join(folder, 'done')) && Date.now() < end) await Bun.sleep(20);
    const frames = readFileSync(join(folder, 'frames.txt'), 'utf8').trim().split('\n');
    expect(frames.length).toBeGreaterThan(3);
  });

  test('export downloads a PLY of the current mesh', async () => {
    const download = page.waitForEvent('download');
    await page.click('#btn-export');
    const d = await download;
    const path = join(dir, 'export.ply');
    await d.saveAs(path);
    const text = readFileSync(path).subarray(0, 300).toString('latin1');
    expect(text.startsWith('ply\nformat binary_little_endian 1.0\n')).toBe(true);
    const faces = Number(/element face (\d+)/.exec(text)?.[1]);
    expect(faces).toBeGreaterThan(0);
  });

  test("this device's camera becomes the source (Chromium's fake camera)", async () => {
    await page.fill('#cam-fps', '15');
    await page.click('#btn-camera');
    // the scene is reset for the new source, so trajectory and frame indices start again from 0
    const s = await until(page, 'browser camera frames fused', (x) => x.status?.source === 'browser' && x.trajectory >= 5 && (x.frameIndex ?? -1) >= 4, 15_000);
    await Bun.sleep(300); // a preview of the camera image
    expect(s.status?.state).toBe('running');
    // intrinsics guessed from the default 60° field of view at the capture width
    const k = await page.evaluate(() => Number((document.getElementById('cam-fx') as HTMLInputElement).value));
    expect(k).toBeCloseTo(640 / 2 / Math.tan(Math.PI / 6), 0);
    await page.screenshot({ path: join(import.meta.dir, 'out', 'viewer-camera.png') });
    await page.click('#btn-camera');
    await until(page, 'camera stopped', (x) => x.status?.state === 'ended');
    expect(s.errors).toEqual([]);
  });
});
