/**
 * Scan module for the server benchmark (loaded by the pipeline worker): the
 * real pipeline (src/server/scan.ts) over the project's synthetic room when
 * src/frames/source.ts can open it, else over an analytic scene (a wavy wall
 * 1.5–2 m in front of a camera sliding sideways), at 640×480, endlessly.
 */
import { Observable, defer, map, repeat, type Observable as Obs } from 'rxjs';
import { type Frame } from '../src/frames/frame';
import { identityPose } from '../src/geometry/se3';
import { createScanModule as realScanModule, type ScanModuleOptions } from '../src/server/scan';
import type { ScanModule } from '../src/server/scanRunner';

const W = 640;
const H = 480;

function analyticFrames(periodMs: number): Obs<Frame> {
  return new Observable<Frame>((sub) => {
    let i = 0;
    const timer = setInterval(() => {
      const depth = new Float32Array(W * H);
      const rgb = new Uint8Array(W * H * 3);
      // the camera moves 2 cm a frame along x and back every 200 frames
      const tx = 0.02 * ((i % 200) - 100);
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          const wx = tx + ((x - 319.5) / 525) * 1.7;
          depth[y * W + x] = 1.7 + 0.15 * Math.sin(wx * 3) + 0.1 * Math.cos(((y - 239.5) / 525) * 5);
          const p = 3 * (y * W + x);
          rgb[p] = 128 + 100 * Math.sin(wx * 7);
          rgb[p + 1] = (y * 2) & 255;
          rgb[p + 2] = 160;
        }
      }
      const pose = identityPose();
      pose[3] = tx;
      sub.next({ index: i, timestamp: i / 30, width: W, height: H, rgb, depth, intrinsics: { fx: 525, fy: 525, cx: 319.5, cy: 239.5, width: W, height: H }, pose, groundTruthPose: pose });
      i++;
    }, periodMs);
    return () => clearInterval(timer);
  });
}

export async function createScanModule(options: ScanModuleOptions & { periodMs?: number }): Promise<ScanModule> {
  const real = await realScanModule(options);
  return {
    ...real,
    openFrames(spec: string): Obs<Frame> {
      if (spec === 'bench:analytic') return analyticFrames(options.periodMs ?? 1);
      // a finite replay played over and over, renumbered so indices keep increasing
      let offset = 0;
      let last = -1;
      return defer(() => {
        offset += last + 1;
        last = -1;
        return real.openFrames(spec);
      }).pipe(
        repeat(),
        map((f) => {
          last = Math.max(last, f.index);
          return { ...f, index: f.index + offset };
        }),
      );
    },
  };
}
