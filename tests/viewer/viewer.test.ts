/**
 * End to end in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): the real server serves the real viewer bundle, mesh
 * blocks are streamed in, and the page must show exactly what was sent.
 * Screenshots go to tests/viewer/out/.
 */
import { afterAll, beforeAll, describe, expect, test, setDefaultTimeout } from 'bun:test';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Subject } from 'rxjs';
import sharp from 'sharp';
import type { MeshBlock } from '../../src/fusion/meshBlock';
import type { PipelineUpdate } from '../../src/pipeline/types';
import { serveUpdates, type ScanServer } from '../../src/server/server';
import type { ViewerSnapshot } from '../../web-viewer/viewerModel';
import { fakeUpdate, removal } from '../server/helpers';

// browser, ffmpeg and worker start-up on a loaded 2-core machine: generous, bounded
setDefaultTimeout(60000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`skipping viewer tests: no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
const OUT = join(import.meta.dir, 'out');
const BASE_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'];
// WebGL without a GPU: ANGLE on SwiftShader
const GL_ARGS = ['--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

/** A room corner: floor (y = +0.8 m, camera y points down) and back wall (z = 3.2 m), 8×8 vertex grids per 0.16 m block. */
function roomBlock(kind: 'floor' | 'wall', a: number, b: number, version: number): MeshBlock {
  const size = 0.16;
  const n = 8;
  const positions = new Float32Array(n * n * 3);
  const colors = new Uint8Array(n * n * 3);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const u = a * size + (i / (n - 1)) * size;
      const w = b * size + (j / (n - 1)) * size;
      const p = (j * n + i) * 3;
      const checker = (Math.floor(u / 0.32) + Math.floor(w / 0.32)) & 1;
      if (kind === 'floor') positions.set([u, 0.8 + 0.02 * Math.sin(u * 4) * Math.cos(w * 3), w], p);
      else positions.set([u, w, 3.2 + 0.05 * Math.sin(u * 3 + w * 2)], p);
      const base = kind === 'floor' ? [150, 110, 70] : [90, 140, 190];
      colors.set(base.map((c) => Math.min(255, c + checker * 50 + version * 5)), p);
    }
  }
  const indices: number[] = [];
  for (let j = 0; j < n - 1; j++) {
    for (let i = 0; i < n - 1; i++) {
      const q = j * n + i;
      indices.push(q, q + 1, q + n, q + 1, q + n + 1, q + n);
    }
  }
  const [bx, by, bz] = kind === 'floor' ? [a, 5, b] : [a, b, 20];
  return { bx, by, bz, version, positions, colors, indices: new Uint32Array(indices) };
}

function roomUpdates(): PipelineUpdate[] {
  const blocks: MeshBlock[] = [];
  for (let x = -8; x < 8; x++) for (let z = 4; z < 20; z++) blocks.push(roomBlock('floor', x, z, 1));
  for (let x = -8; x < 8; x++) for (let y = -6; y < 5; y++) blocks.push(roomBlock('wall', x, y, 1));
  const updates: PipelineUpdate[] = [];
  const per = 32;
  for (let i = 0; i * per < blocks.length; i++) {
    const u = fakeUpdate(i, blocks.slice(i * per, (i + 1) * per));
    // camera walks sideways along x at head height, looking down +z
    u.pose[3] = -0.5 + 0.08 * i;
    u.pose[7] = 0;
    u.pose[11] = 0.2 * Math.sin(i / 3);
    u.frame.intrinsics = { fx: 525, fy: 525, cx: 319.5, cy: 239.5, width: 640, height: 480 };
    updates.push(u);
  }
  return updates;
}

const snapshot = (page: Page): Promise<ViewerSnapshot> =>
  page.evaluate(() => {
    const s = window.scanstream;
    if (!s) throw new Error('window.scanstream missing: viewer did not start');
    return s.snapshot();
  });

async function waitForSnapshot(page: Page, what: string, pred: (s: ViewerSnapshot) => boolean, timeoutMs = 15_000): Promise<ViewerSnapshot> {
  const deadline = Date.now() + timeoutMs;
  let last: ViewerSnapshot | null = null;
  while (Date.now() < deadline) {
    last = await snapshot(page).catch(() => null);
    if (last && pred(last)) return last;
    await Bun.sleep(50);
  }
  throw new Error(`viewer: timed out waiting for ${what}; last state: ${JSON.stringify(last && { ...last, versions: undefined })}`);
}

/** Standard deviation of the luminance and number of distinct coarse colours in a PNG region. */
async function imageVariety(png: Buffer): Promise<{ stdev: number; colours: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const stats = await sharp(png).stats();
  const colours = new Set<number>();
  for (let i = 0; i < info.width * info.height; i += 7) colours.add(((data[3 * i]! >> 4) << 8) | ((data[3 * i + 1]! >> 4) << 4) | (data[3 * i + 2]! >> 4));
  return { stdev: Math.max(...stats.channels.slice(0, 3).map((c) => c.stdev)), colours: colours.size };
}

describe.skipIf(!haveChromium)('viewer in headless Chromium', () => {
  let browser: Browser;
  let server: ScanServer;
  const updates = new Subject<PipelineUpdate>();
  const sent = roomUpdates();
  const sentTriangles = sent.reduce((n, u) => n + u.meshBlocks.reduce((m, b) => m + b.indices.length / 3, 0), 0);
  const sentBlocks = sent.reduce((n, u) => n + u.meshBlocks.length, 0);

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    server = await serveUpdates(updates, { port: 0, meshIntervalMs: 50 });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...GL_ARGS] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  test('shows exactly the streamed mesh: triangle count, blocks, pose; screenshot is not blank', async () => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(server.url);
    const first = await waitForSnapshot(page, 'connection', (s) => s.connected);
    expect(first.webgl).toBe(true);

    for (const u of sent) {
      updates.next(u);
      await Bun.sleep(10);
    }
    const s = await waitForSnapshot(page, `${sentBlocks} blocks`, (x) => x.blocks === sentBlocks && x.trajectory === sent.length);
    expect(s.triangles).toBe(sentTriangles);
    expect(s.triangles).toBe(server.scene.triangles);
    expect(s.pose).toEqual([...sent.at(-1)!.pose]);
    expect(s.frameIndex).toBe(sent.length - 1);
    // what the stats panel shows is the scene's count
    await page.waitForFunction((n) => document.getElementById('stat-triangles')?.textContent === n, sentTriangles.toLocaleString('en-US'));
    expect(await page.textContent('#stat-blocks')).toBe(sentBlocks.toLocaleString('en-US'));
    expect(await page.textContent('#stat-tracking')).toBe('groundtruth');
    // the preview of the last frame arrived
    await page.waitForFunction(() => (document.getElementById('frame') as HTMLImageElement | null)?.naturalWidth === 64);

    await Bun.sleep(300); // let the auto-fit settle
    const png = await page.screenshot({ path: join(OUT, 'viewer.png') });
    const canvas = await page.locator('#view canvas').screenshot({ path: join(OUT, 'viewer-canvas.png') });
    const v = await imageVariety(canvas);
    console.log(`viewer: ${s.blocks} blocks, ${s.triangles} triangles; canvas luminance stdev ${v.stdev.toFixed(1)}, ${v.colours} coarse colours; ${join(OUT, 'viewer.png')}`);
    expect(v.stdev).toBeGreaterThan(10);
    expect(v.colours).toBeGreaterThan(20);
    expect(png.byteLength).toBeGreaterThan(10_000);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  test('a second page joining late gets the same scene; removals and reset reach every page', async () => {
    const page = await browser.newPage({ viewport: { width: 800, height: 500 } });
    await page.goto(server.url);
    const s = await waitForSnapshot(page, 'late-join snapshot', (x) => x.snapshotsCompleted >= 1 && x.blocks === server.scene.blocks.size);
    expect(s.triangles).toBe(server.scene.triangles);
    const serverVersions = Object.fromEntries([...server.scene.blocks].map(([k, b]) => [k, b.version]));
    expect(s.versions).toEqual(serverVersions);

    // remove one wall block: 98 triangles fewer
    updates.next(fakeUpdate(100, [removal(0, 0, 20, 2)]));
    const after = await waitForSnapshot(page, 'removal', (x) => x.blocks === sentBlocks - 1);
    expect(after.triangles).toBe(sentTriangles - 98);
    expect(after.versions['0,0,20']).toBeUndefined();

    await page.click('#btn-reset');
    const cleared = await waitForSnapshot(page, 'reset', (x) => x.blocks === 0);
    expect(cleared.triangles).toBe(0);
    await page.waitForFunction(() => document.getElementById('stat-triangles')?.textContent === '0');
    await page.screenshot({ path: join(OUT, 'viewer-after-reset.png') });
    await page.close();
  });
});

describe.skipIf(!haveChromium)('viewer reconnection', () => {
  test('reconnects by itself after the server restarts, and shows the new scene only', async () => {
    const first = new Subject<PipelineUpdate>();
    let server = await serveUpdates(first, { port: 0, meshIntervalMs: 20 });
    const port = server.port;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, ...GL_ARGS] });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      await waitForSnapshot(page, 'connection', (s) => s.connected);
      const room = roomUpdates();
      first.next(room[0]!);
      await waitForSnapshot(page, 'first scene', (s) => s.blocks === room[0]!.meshBlocks.length);
      await server.stop();
      await waitForSnapshot(page, 'disconnect noticed', (s) => !s.connected);
      // a new server on the same port with a different scene
      const second = new Subject<PipelineUpdate>();
      server = await serveUpdates(second, { port, meshIntervalMs: 20 });
      second.next(room[5]!);
      const s = await waitForSnapshot(page, 'reconnected with the new scene', (x) => x.connected && x.snapshotsCompleted >= 2 && x.blocks === room[5]!.meshBlocks.length);
      expect(Object.keys(s.versions).sort()).toEqual(room[5]!.meshBlocks.map((b) => `${b.bx},${b.by},${b.bz}`).sort());
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});

describe.skipIf(!haveChromium)('viewer without WebGL', () => {
  test('says so, and still counts what arrives', async () => {
    const updates = new Subject<PipelineUpdate>();
    const server = await serveUpdates(updates, { port: 0, meshIntervalMs: 20 });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, '--disable-3d-apis'] });
    try {
      const page = await browser.newPage();
      await page.goto(server.url);
      const s0 = await waitForSnapshot(page, 'connection', (s) => s.connected);
      expect(s0.webgl).toBe(false);
      expect(await page.isVisible('#notice')).toBe(true);
      expect(await page.textContent('#notice')).toContain('WebGL is not available');
      const u = roomUpdates()[0]!;
      updates.next(u);
      const s = await waitForSnapshot(page, 'blocks without WebGL', (x) => x.blocks === u.meshBlocks.length);
      expect(s.triangles).toBe(u.meshBlocks.length * 98);
      await page.screenshot({ path: join(OUT, 'viewer-no-webgl.png') });
    } finally {
      await browser.close();
      await server.stop();
    }
  });
});
