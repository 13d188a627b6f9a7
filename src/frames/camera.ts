/**
 * Live camera frames from an ffmpeg subprocess writing raw RGB to a pipe.
 *
 *   camera:0            /dev/video0 (v4l2) on Linux, AVFoundation device 0 on
 *                       macOS (Continuity Camera appears there as a device)
 *   camera:/dev/video2  a v4l2 device by path
 *   lavfi:testsrc2      an ffmpeg lavfi graph (test pattern standing in for a camera)
 *   video:clip.mp4      a video file played at its own rate, as if live
 *
 * Options follow a "?": size=640x480 (output, scaled), fps=30, fov=60
 * (horizontal degrees, for guessed intrinsics), realtime=0 (lavfi/video: as
 * fast as ffmpeg can), loop=1 (video: forever).
 *
 * Live means latest wins: complete frames go into one slot and the
 * subscriber is handed the newest when it is free again; older ones are
 * dropped (counted), never queued. The slot only sees what has been read, so
 * with a synchronous pipeline on this thread the pipe (64 KiB) plus ffmpeg's
 * own frame are what can be stale; v4l2/AVFoundation drop the rest.
 */
import { Observable } from 'rxjs';
import { intrinsicsFromFov } from '../geometry/intrinsics';
import { SourceError } from './errors';
import type { Frame } from './frame';

export class CameraError extends SourceError {
  constructor(message: string) {
    super(message);
    this.name = 'CameraError';
  }
}

export type CameraKind = 'camera' | 'lavfi' | 'video';

export interface CameraSpec {
  kind: CameraKind;
  /** device index/path, lavfi graph or file path */
  input: string;
  width: number;
  height: number;
  /** output frame rate; undefined = the input's own */
  fps: number | undefined;
  /** horizontal field of view in degrees, for guessed intrinsics */
  fovDeg: number;
  /** lavfi/video: pace at the input's frame rate (-re) */
  realtime: boolean;
  /** video: loop forever */
  loop: boolean;
}

export interface CameraSourceOptions {
  /** ffmpeg executable (default: "ffmpeg" on PATH) */
  ffmpeg?: string;
  /** called with the running total each time a frame is dropped because the subscriber lagged */
  onDrop?: (dropped: number) => void;
  /** called with ffmpeg's pid once it runs (tests use it to kill the "camera") */
  onStart?: (pid: number) => void;
  platform?: NodeJS.Platform;
}

const KINDS: readonly CameraKind[] = ['camera', 'lavfi', 'video'];

export function isCameraSpec(spec: string): boolean {
  return KINDS.some((k) => spec.startsWith(`${k}:`));
}

export function parseCameraSpec(spec: string): CameraSpec {
  const colon = spec.indexOf(':');
  const kind = spec.slice(0, colon) as CameraKind;
  if (colon < 0 || !KINDS.includes(kind)) {
    throw new CameraError(`'${spec}' is not a camera source; expected camera:N, camera:/dev/videoN, lavfi:GRAPH or video:PATH`);
  }
  const rest = spec.slice(colon + 1);
  const q = rest.lastIndexOf('?');
  const input = q >= 0 ? rest.slice(0, q) : rest;
  const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  if (!input) throw new CameraError(`'${spec}': missing the ${kind === 'camera' ? 'device' : kind === 'lavfi' ? 'graph' : 'file path'} after '${kind}:'`);
  for (const key of params.keys()) {
    if (!['size', 'fps', 'fov', 'realtime', 'loop'].includes(key)) {
      throw new CameraError(`'${spec}': unknown option '${key}'; expected size, fps, fov, realtime or loop`);
    }
  }
  const size = params.get('size') ?? '640x480';
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m) throw new CameraError(`'${spec}': size must be WIDTHxHEIGHT (e.g. 640x480), got '${size}'`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 16 || height < 16 || width > 8192 || height > 8192 || width % 2 || height % 2) {
    throw new CameraError(`'${spec}': size ${size} must be even and within 16..8192`);
  }
  const num = (key: string, lo: number, hi: number): number | undefined => {
    const s = params.get(key);
    if (s === null) return undefined;
    const x = Number(s);
    if (!Number.isFinite(x) || x < lo || x > hi) throw new CameraError(`'${spec}': ${key} must be a number in ${lo}..${hi}, got '${s}'`);
    return x;
  };
  const flag = (key: string, dflt: boolean): boolean => {
    const s = params.get(key);
    if (s === null) return dflt;
    if (s !== '0' && s !== '1') throw new CameraError(`'${spec}': ${key} must be 0 or 1, got '${s}'`);
    return s === '1';
  };
  return {
    kind,
    input,
    width,
    height,
    fps: num('fps', 0.1, 240),
    fovDeg: num('fov', 10, 170) ?? 60,
    realtime: flag('realtime', true),
    loop: flag('loop', false),
  };
}

/** The ffmpeg command line (after the executable) for a camera spec. */
export function ffmpegArgs(s: CameraSpec, platform: NodeJS.Platform = process.platform): string[] {
  const input: string[] = [];
  if (s.kind === 'camera') {
    if (platform === 'darwin') {
      input.push('-f', 'avfoundation', '-framerate', String(s.fps ?? 30), '-i', `${s.input}:none`);
    } else if (platform === 'linux') {
      input.push('-f', 'v4l2', '-i', /^\d+$/.test(s.input) ? `/dev/video${s.input}` : s.input);
    } else {
      input.push('-f', 'dshow', '-i', `video=${s.input}`);
    }
  } else if (s.kind === 'lavfi') {
    if (s.realtime) input.push('-re');
    input.push('-f', 'lavfi', '-i', s.input);
  } else {
    if (s.realtime) input.push('-re');
    if (s.loop) input.push('-stream_loop', '-1');
    input.push('-i', s.input);
  }
  const filters = [`scale=${s.width}:${s.height}`];
  if (s.fps !== undefined && s.kind !== 'camera') filters.push(`fps=${s.fps}`);
  return ['-hide_banner', '-loglevel', 'error', '-nostdin', ...input, '-an', '-vf', filters.join(','), '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'];
}

/** Keeps the last few KiB of a stream's text (ffmpeg's stderr, for error messages). */
async function tailText(stream: ReadableStream<Uint8Array>, keep: { text: string }): Promise<void> {
  const dec = new TextDecoder();
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      keep.text = (keep.text + dec.decode(value, { stream: true })).slice(-4096);
    }
  } catch {
    // the process is going away; what we have is what we report
  }
}

/** Live frames from ffmpeg; unsubscribing stops ffmpeg (SIGTERM, then SIGKILL after 1 s). */
export function cameraSource(spec: string, options: CameraSourceOptions = {}): Observable<Frame> {
  return new Observable<Frame>((subscriber) => {
    let parsed: CameraSpec;
    try {
      parsed = parseCameraSpec(spec);
    } catch (e) {
      subscriber.error(e);
      return;
    }
    const s = parsed;
    const intrinsics = intrinsicsFromFov(s.width, s.height, s.fovDeg);
    const frameBytes = s.width * s.height * 3;
    const exe = options.ffmpeg ?? 'ffmpeg';
    let proc: ReturnType<typeof Bun.spawn<'ignore', 'pipe', 'pipe'>>;
    try {
      proc = Bun.spawn([exe, ...ffmpegArgs(s, options.platform)], { stdin: 'ignore', stdout: 'pipe', stderr: 'pipe' });
    } catch (e) {
      subscriber.error(new CameraError(`${spec}: cannot run '${exe}' (${(e as Error).message}); install ffmpeg (apt-get install ffmpeg, brew install ffmpeg)`));
      return;
    }
    options.onStart?.(proc.pid);
    const stderr = { text: '' };
    void tailText(proc.stderr, stderr);

    let closed = false;
    let slot: { rgb: Uint8Array; t: number } | null = null;
    let scheduled = false;
    let emitted = 0;
    let dropped = 0;
    let received = 0;

    const emit = (): void => {
      scheduled = false;
      if (closed || !slot) return;
      const { rgb, t } = slot;
      slot = null;
      subscriber.next({ index: emitted++, timestamp: t, width: s.width, height: s.height, rgb, intrinsics: { ...intrinsics } });
    };
    const deliver = (rgb: Uint8Array): void => {
      received++;
      if (slot) {
        dropped++;
        options.onDrop?.(dropped);
      }
      slot = { rgb, t: (performance.timeOrigin + performance.now()) / 1000 };
      if (!scheduled) {
        scheduled = true;
        setImmediate(emit);
      }
    };

    const reader = proc.stdout.getReader();
    const pump = async (): Promise<void> => {
      let buf = new Uint8Array(frameBytes);
      let filled = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done || closed) break;
        let off = 0;
        while (off < value.length) {
          const n = Math.min(frameBytes - filled, value.length - off);
          buf.set(value.subarray(off, off + n), filled);
          filled += n;
          off += n;
          if (filled === frameBytes) {
            deliver(buf);
            buf = new Uint8Array(frameBytes);
            filled = 0;
          }
        }
      }
    };
    void pump()
      .catch(() => undefined)
      .then(async () => {
        const code = await proc.exited;
        if (closed) return;
        // the last complete frame still in the slot goes out before the end
        await new Promise<void>((r) => setImmediate(r));
        if (closed) return;
        emit();
        if (code === 0) {
          subscriber.complete();
        } else {
          const why = proc.signalCode ? `was killed (${proc.signalCode})` : `exited with code ${code}`;
          const detail = stderr.text.trim().split('\n').slice(-3).join(' | ');
          subscriber.error(new CameraError(`${spec}: ffmpeg ${why} after ${received} frames${detail ? `: ${detail}` : ''}`));
        }
      });

    return () => {
      closed = true;
      slot = null;
      void reader.cancel().catch(() => undefined);
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        }, 1000);
        t.unref();
      }
    };
  });
}
