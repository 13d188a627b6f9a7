/**
 * Frames from a browser's camera (getUserMedia in the viewer, sent over the
 * WebSocket as CameraFrame data messages) as a live source: any phone on the
 * network becomes a camera. Like every live source it is latest-wins with
 * one slot: while a JPEG is being decoded, newer frames replace the waiting
 * one instead of queueing.
 */
import { Observable, Subject } from 'rxjs';
import sharp, { type OutputInfo } from 'sharp';
import type { BrowserCameraFrame } from './cameraFrame';
import { SourceError } from './errors';
import type { Frame } from './frame';

export class BrowserFrameError extends SourceError {
  constructor(message: string) {
    super(message);
    this.name = 'BrowserFrameError';
  }
}

/** Largest frame accepted from a browser (pixels). */
export const MAX_BROWSER_PIXELS = 1920 * 1080;

/** Cheap checks done before any decoding; throws BrowserFrameError naming what is wrong. */
export function validateCameraFrame(m: BrowserCameraFrame): void {
  const what = `camera frame ${m.index} (${m.width}×${m.height} ${m.encoding})`;
  if (m.width < 16 || m.height < 16 || m.width * m.height > MAX_BROWSER_PIXELS) {
    throw new BrowserFrameError(`${what}: size must be at least 16×16 and at most ${MAX_BROWSER_PIXELS} pixels`);
  }
  if (m.encoding === 'rgb' && m.data.byteLength !== m.width * m.height * 3) {
    throw new BrowserFrameError(`${what}: RGB payload is ${m.data.byteLength} bytes; expected ${m.width * m.height * 3}`);
  }
  if (m.encoding === 'jpeg' && (m.data.byteLength < 4 || m.data[0] !== 0xff || m.data[1] !== 0xd8)) {
    throw new BrowserFrameError(`${what}: payload of ${m.data.byteLength} bytes is not a JPEG (no FF D8 start marker)`);
  }
  if (![m.fx, m.fy, m.cx, m.cy].every(Number.isFinite) || m.fx <= 0 || m.fy <= 0) {
    throw new BrowserFrameError(`${what}: intrinsics fx=${m.fx} fy=${m.fy} cx=${m.cx} cy=${m.cy} must be finite with fx, fy > 0`);
  }
}

async function toRgb(m: BrowserCameraFrame): Promise<Uint8Array> {
  if (m.encoding === 'rgb') return m.data;
  let out: { data: Buffer; info: OutputInfo };
  try {
    out = await sharp(m.data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new BrowserFrameError(`camera frame ${m.index}: JPEG does not decode (${(e as Error).message})`);
  }
  if (out.info.width !== m.width || out.info.height !== m.height || out.info.channels !== 3) {
    throw new BrowserFrameError(
      `camera frame ${m.index}: JPEG is ${out.info.width}×${out.info.height}×${out.info.channels}; the header says ${m.width}×${m.height}×3`,
    );
  }
  return new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
}

export interface BrowserSource {
  readonly frames: Observable<Frame>;
  /** Offer one frame; rejects with BrowserFrameError if it is invalid. Resolves once it was emitted or superseded. */
  push(m: BrowserCameraFrame): Promise<void>;
  /** frames replaced by a newer one before they were emitted */
  readonly dropped: number;
  /** the camera stopped: complete the source */
  end(): void;
}

export function browserSource(): BrowserSource {
  const subject = new Subject<Frame>();
  let waiting: BrowserCameraFrame | null = null;
  let decoding = false;
  let emitted = 0;
  let dropped = 0;

  const run = async (): Promise<void> => {
    decoding = true;
    try {
      while (waiting) {
        const m = waiting;
        waiting = null;
        const rgb = await toRgb(m);
        subject.next({
          index: emitted++,
          timestamp: m.timestamp,
          width: m.width,
          height: m.height,
          rgb,
          intrinsics: { fx: m.fx, fy: m.fy, cx: m.cx, cy: m.cy, width: m.width, height: m.height },
        });
      }
    } finally {
      decoding = false;
    }
  };

  return {
    frames: subject.asObservable(),
    get dropped() {
      return dropped;
    },
    async push(m) {
      validateCameraFrame(m);
      if (waiting) dropped++;
      waiting = m;
      if (!decoding) await run();
    },
    end() {
      subject.complete();
    },
  };
}
