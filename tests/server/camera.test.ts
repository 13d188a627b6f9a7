/**
 * Live camera source against ffmpeg: the lavfi test pattern and a video file
 * stand in for a camera. Skips with a message when ffmpeg is not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, setDefaultTimeout } from 'bun:test';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { browserSource, BrowserFrameError } from '../../src/frames/browserSource';
import { CameraError, cameraSource, ffmpegArgs, parseCameraSpec } from '../../src/frames/camera';
import type { Frame } from '../../src/frames/frame';
import { intrinsicsFromFov } from '../../src/geometry/intrinsics';

// browser, ffmpeg and worker start-up on a loaded 2-core machine: generous, bounded
setDefaultTimeout(20000);

const haveFfmpeg = Bun.which('ffmpeg') !== null;
if (!haveFfmpeg) console.warn('skipping camera tests that run ffmpeg: ffmpeg is not on PATH (apt-get install ffmpeg)');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function waitGone(pid: number, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await Bun.sleep(20);
  }
  return !alive(pid);
}

describe('camera specs', () => {
  test('parse with defaults and options; ffmpeg command lines per platform', () => {
    const s = parseCameraSpec('camera:0');
    expect(s).toEqual({ kind: 'camera', input: '0', width: 640, height: 480, fps: undefined, fovDeg: 60, realtime: true, loop: false });
    expect(ffmpegArgs(s, 'linux')).toContain('/dev/video0');
    expect(ffmpegArgs(s, 'linux').slice(-8)).toEqual(['-an', '-vf', 'scale=640:480', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1']);
    const mac = ffmpegArgs(s, 'darwin');
    expect(mac.slice(mac.indexOf('-f'), mac.indexOf('-f') + 2)).toEqual(['-f', 'avfoundation']);
    expect(mac).toContain('0:none');
    const l = parseCameraSpec('lavfi:testsrc2=size=320x240:rate=30?size=160x120&fps=10&realtime=0&fov=90');
    expect(l).toMatchObject({ kind: 'lavfi', input: 'testsrc2=size=320x240:rate=30', width: 160, height: 120, fps: 10, fovDeg: 90, realtime: false });
    expect(ffmpegArgs(l)).not.toContain('-re');
    expect(ffmpegArgs(l)).toContain('scale=160:120,fps=10');
    expect(ffmpegArgs(parseCameraSpec('video:/x/clip.mp4?loop=1'))).toEqual(expect.arrayContaining(['-re', '-stream_loop', '-1', '-i', '/x/clip.mp4']));
    const k = intrinsicsFromFov(640, 480, 90);
    expect(k.fx).toBeCloseTo(320, 9);
    expect([k.cx, k.cy]).toEqual([319.5, 239.5]);
  });

  test('bad specs say what was expected', () => {
    expect(() => parseCameraSpec('webcam:0')).toThrow(/expected camera:N, camera:\/dev\/videoN, lavfi:GRAPH or video:PATH/);
    expect(() => parseCameraSpec('camera:')).toThrow(/missing the device/);
    expect(() => parseCameraSpec('camera:0?size=big')).toThrow(/size must be WIDTHxHEIGHT/);
    expect(() => parseCameraSpec('camera:0?size=641x480')).toThrow(/must be even/);
    expect(() => parseCameraSpec('camera:0?fps=0')).toThrow(/fps must be a number in 0.1..240/);
    expect(() => parseCameraSpec('camera:0?zoom=2')).toThrow(/unknown option 'zoom'/);
    expect(() => parseCameraSpec('camera:0?loop=yes')).toThrow(/loop must be 0 or 1/);
  });
});

describe.skipIf(!haveFfmpeg)('camera source (ffmpeg)', () => {
  test('lavfi test pattern: frames of the requested size with real pixels and guessed intrinsics', async () => {
    const frames = await lastValueFrom(cameraSource('lavfi:testsrc2=rate=30?size=160x120&realtime=0&fov=90').pipe(take(5), toArray()));
    expect(frames.map((f) => f.index)).toEqual([0, 1, 2, 3, 4]);
    for (const f of frames) {
      expect([f.width, f.height, f.rgb.length]).toEqual([160, 120, 160 * 120 * 3]);
      expect(f.intrinsics.fx).toBeCloseTo(80, 6);
      expect(f.depth).toBeUndefined();
    }
    // testsrc2 is colourful and moving: not a constant image, and frames differ
    const f0 = frames[0]!.rgb;
    expect(new Set(f0).size).toBeGreaterThan(50);
    expect(Buffer.compare(Buffer.from(f0), Buffer.from(frames[4]!.rgb))).not.toBe(0);
    expect(frames[4]!.timestamp).toBeGreaterThanOrEqual(frames[0]!.timestamp);
  });

  test('latest wins: a consumer slower than the camera gets the newest frame and drops the rest', async () => {
    let dropped = 0;
    const got: Frame[] = [];
    await new Promise<void>((resolve, reject) => {
      const sub = cameraSource('lavfi:testsrc2=rate=60?size=64x48&realtime=0', { onDrop: (n) => (dropped = n) }).subscribe({
        next(f) {
          got.push(f);
          const until = performance.now() + 40; // a pipeline stage that takes 40 ms
          while (performance.now() < until) {
            // busy: the event loop is blocked like a synchronous kernel call
          }
          if (got.length === 8) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
    });
    console.log(`latest-wins: 8 frames delivered, ${dropped} dropped while the consumer was busy`);
    expect(dropped).toBeGreaterThan(0);
    expect(got.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]); // indices stay contiguous
  });

  test('unsubscribing stops ffmpeg', async () => {
    let pid = 0;
    await firstValueFrom(cameraSource('lavfi:testsrc2?size=64x48', { onStart: (p) => (pid = p) }));
    expect(pid).toBeGreaterThan(0);
    expect(await waitGone(pid)).toBe(true);
  });

  test('a video file standing in for a camera plays to its end and completes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scanstream-cam-'));
    try {
      const file = join(dir, 'clip.mp4');
      const enc = Bun.spawnSync(['ffmpeg', '-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=20:duration=0.5', '-c:v', 'mpeg4', file]);
      expect(enc.exitCode).toBe(0);
      // played at its own rate (like a camera): latest wins, so on a loaded
      // machine ffmpeg's catch-up bursts can drop a frame, but every one of
      // the 10 is either delivered or counted as dropped, never lost silently
      let dropped = 0;
      const frames = await lastValueFrom(cameraSource(`video:${file}?size=80x60`, { onDrop: (n) => (dropped = n) }).pipe(toArray()));
      expect(frames.length + dropped).toBe(10);
      expect(frames.length).toBeGreaterThanOrEqual(5);
      expect(frames.map((f) => f.index)).toEqual(frames.map((_, i) => i));
      expect(frames[0]!.rgb.length).toBe(80 * 60 * 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a camera that disappears mid-scan ends the source with a clear error', async () => {
    let pid = 0;
    const frames: Frame[] = [];
    const error = await new Promise<unknown>((resolve) => {
      cameraSource('lavfi:testsrc2=rate=30?size=64x48', { onStart: (p) => (pid = p) }).subscribe({
        next(f) {
          frames.push(f);
          if (frames.length === 3) process.kill(pid, 'SIGKILL'); // unplugged
        },
        error: resolve,
        complete: () => resolve(null),
      });
    });
    expect(error).toBeInstanceOf(CameraError);
    expect((error as Error).message).toMatch(/^lavfi:testsrc2=rate=30\?size=64x48: ffmpeg (was killed \(SIGKILL\)|exited with code \d+) after \d+ frames/);
    expect(frames.length).toBeGreaterThanOrEqual(3);
  });

  test('a device that does not exist fails with ffmpeg’s reason', async () => {
    const err = await lastValueFrom(cameraSource('video:/nonexistent/clip.mp4')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CameraError);
    expect((err as Error).message).toMatch(/exited with code \d+ after 0 frames: .*No such file or directory/);
  });
});

describe('browser source', () => {
  const k = { fx: 50, fy: 50, cx: 15.5, cy: 11.5 };
  test('RGB frames become Frames with the sent intrinsics; wrong lengths are refused', async () => {
    const src = browserSource();
    const first = firstValueFrom(src.frames);
    const data = new Uint8Array(32 * 24 * 3).fill(9);
    await src.push({ index: 5, timestamp: 2.5, width: 32, height: 24, encoding: 'rgb', ...k, data });
    const f = await first;
    expect(f).toMatchObject({ index: 0, timestamp: 2.5, width: 32, height: 24, intrinsics: { ...k, width: 32, height: 24 } });
    expect(f.rgb).toEqual(data);
    const bad = src.push({ index: 6, timestamp: 3, width: 32, height: 24, encoding: 'rgb', ...k, data: data.subarray(1) });
    await expect(bad).rejects.toThrow(BrowserFrameError);
    await expect(bad).rejects.toThrow(/RGB payload is 2303 bytes; expected 2304/);
    const notJpeg = src.push({ index: 7, timestamp: 3, width: 32, height: 24, encoding: 'jpeg', ...k, data: new Uint8Array(10) });
    await expect(notJpeg).rejects.toThrow(/not a JPEG/);
  });
});
