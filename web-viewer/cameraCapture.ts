/**
 * "Use this device's camera": getUserMedia frames, JPEG-encoded on a canvas,
 * sent as CameraFrame data messages with intrinsics guessed from a
 * horizontal field of view (editable). Browsers allow the camera only in a
 * secure context: localhost, or HTTPS (serve --https) from a phone.
 */
import type { Intrinsics } from '../src/geometry/intrinsics';
import { encodeDataMessage } from '../src/server/dataMessages';

export interface CaptureSettings {
  fovDeg: number;
  /** overrides the fov-derived focal length when set */
  fx: number | null;
  fps: number;
}

export interface CaptureSink {
  start(camera: Intrinsics): boolean;
  frame(data: Uint8Array<ArrayBuffer>): boolean;
  bufferedAmount(): number;
}

const MAX_WIDTH = 640;

export function focalFromFov(width: number, fovDeg: number): number {
  return width / 2 / Math.tan((fovDeg * Math.PI) / 360);
}

export class CameraCapture {
  private stream: MediaStream | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private index = 0;
  private seq = 0;

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly sink: CaptureSink,
    private readonly settings: () => CaptureSettings,
  ) {}

  get running(): boolean {
    return this.stream !== null;
  }

  static available(): string | null {
    if (!window.isSecureContext) return 'the camera needs a secure context: open this page on localhost or run serve --https';
    if (!navigator.mediaDevices?.getUserMedia) return 'this browser has no camera access (navigator.mediaDevices missing)';
    return null;
  }

  async start(): Promise<void> {
    const why = CameraCapture.available();
    if (why) throw new Error(why);
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: 'environment' }, width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false,
    });
    this.video.srcObject = this.stream;
    await this.video.play();
    const scale = Math.min(1, MAX_WIDTH / this.video.videoWidth);
    const width = Math.round((this.video.videoWidth * scale) / 2) * 2;
    const height = Math.round((this.video.videoHeight * scale) / 2) * 2;
    const s = this.settings();
    const f = s.fx ?? focalFromFov(width, s.fovDeg);
    const k = { width, height, fx: f, fy: f, cx: (width - 1) / 2, cy: (height - 1) / 2 };
    if (!this.sink.start(k)) throw new Error('not connected');
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('no 2D canvas context');
    const tick = async (): Promise<void> => {
      if (!this.stream) return;
      const started = performance.now();
      // latest wins: skip a frame rather than queue behind a slow network
      if (this.sink.bufferedAmount() < 512 * 1024) {
        ctx.drawImage(this.video, 0, 0, width, height);
        const blob = await new Promise<Blob | null>((r) => canvas.toBlob(r, 'image/jpeg', 0.8));
        if (blob && this.stream) {
          const data = new Uint8Array(await blob.arrayBuffer());
          const msg = encodeDataMessage(
            { kind: 'cameraFrame', index: this.index++, timestamp: performance.now() / 1000, encoding: 'jpeg', ...k, data },
            this.seq++,
          );
          this.sink.frame(msg as Uint8Array<ArrayBuffer>);
        }
      }
      const period = 1000 / Math.max(1, this.settings().fps);
      this.timer = setTimeout(() => void tick(), Math.max(0, period - (performance.now() - started)));
    };
    void tick();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const t of this.stream?.getTracks() ?? []) t.stop();
    this.stream = null;
    this.video.srcObject = null;
  }
}
