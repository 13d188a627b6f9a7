/**
 * Runs one scan: a frame source through a pipeline, with pause/resume,
 * reset, source switching, recording and frame previews, reporting
 * ProducerEvents. It runs inside the pipeline worker (pipelineWorker.ts) and,
 * for tests and small tools, in-process (runnerProducer).
 *
 * Frames go source → gate (pause, recording tap, entry time) → input Subject
 * → pipeline operator. The pipeline is recreated on reset and on a new
 * source; the source is kept across a reset.
 */
import { Subject, filter, type Observable, type OperatorFunction, type Subscription } from 'rxjs';
import sharp from 'sharp';
import { browserSource, BrowserFrameError, type BrowserSource } from '../frames/browserSource';
import { cameraSource, isCameraSpec } from '../frames/camera';
import type { Frame } from '../frames/frame';
import type { PipelineUpdate } from '../pipeline/types';
import type { ProducerCommand, ProducerEvent } from './producer';
import { packMeshBlocks } from './dataMessages';
import { FpsMeter, toSceneUpdate, wallMs, type FramePreview } from './sceneUpdate';

export interface ScanPipeline {
  operator: OperatorFunction<Frame, PipelineUpdate>;
  destroy(): void;
}

/** What the runner needs from the rest of scanstream; src/server/scan.ts is the real one. */
export interface ScanModule {
  /** frames for a non-live spec (tum:, recording:, synthetic:, …) */
  openFrames(spec: string): Observable<Frame>;
  /** a fresh pipeline for frames of `spec` (recreated on reset and on a new source) */
  createPipeline(spec: string): ScanPipeline;
  /** recorder tap writing the project's recording format into dir; `spec` is stored as where the frames came from */
  record?(dir: string, spec: string): OperatorFunction<Frame, Frame>;
  dispose?(): void;
}

export interface RunnerOptions {
  /** minimum ms between frame previews */
  frameIntervalMs: number;
  /** preview width in pixels (height keeps the aspect) */
  previewWidth: number;
  previewQuality: number;
}

export const BROWSER_SPEC = 'browser';

export function isLive(spec: string): boolean {
  return spec === BROWSER_SPEC || isCameraSpec(spec);
}

/** Frames for any spec but the browser camera: live cameras here, the rest through the scan module. */
export function openFrameSource(module: ScanModule, spec: string, onDrop?: (dropped: number) => void): Observable<Frame> {
  if (isCameraSpec(spec)) return cameraSource(spec, onDrop ? { onDrop } : {});
  return module.openFrames(spec);
}

export async function encodePreview(frame: Frame, width: number, quality: number): Promise<FramePreview> {
  const w = Math.min(width, frame.width);
  const h = Math.max(1, Math.round((frame.height * w) / frame.width));
  const jpeg = await sharp(frame.rgb, { raw: { width: frame.width, height: frame.height, channels: 3 } })
    .resize(w, h)
    .jpeg({ quality })
    .toBuffer();
  return { frameIndex: frame.index, width: w, height: h, jpeg: new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength) };
}

export class ScanRunner {
  readonly events = new Subject<ProducerEvent>();
  private spec = '';
  private paused = false;
  private sourceSub: Subscription | null = null;
  private sourceEnded = false;
  private lastIndex = -1;
  private input: Subject<Frame> | null = null;
  private pipelineSub: Subscription | null = null;
  private pipeline: ScanPipeline | null = null;
  private readonly entered = new Map<number, number>();
  private fps = new FpsMeter();
  private dropped = 0;
  private recorder: { subject: Subject<Frame>; dir: string; frames: number; done: Promise<void> } | null = null;
  private browser: { source: BrowserSource; clientId: number } | null = null;
  private previewBusy = false;
  private lastPreviewAt = -Infinity;

  constructor(
    private readonly module: ScanModule,
    private readonly options: RunnerOptions,
  ) {}

  private emit(e: ProducerEvent): void {
    this.events.next(e);
  }

  private status(state: 'idle' | 'running' | 'paused' | 'ended' | 'error', message?: string): void {
    this.emit({ type: 'status', source: this.spec, state, ...(message !== undefined ? { message } : {}) });
  }

  start(spec: string): void {
    this.spec = spec;
    this.lastIndex = -1;
    this.dropped = 0;
    this.startPipeline();
    this.subscribeSource();
  }

  private startPipeline(): void {
    this.stopPipeline();
    this.entered.clear();
    this.fps = new FpsMeter();
    const input = new Subject<Frame>();
    let pipeline: ScanPipeline;
    try {
      pipeline = this.module.createPipeline(this.spec);
    } catch (e) {
      this.status('error', `cannot create the pipeline: ${(e as Error).message}`);
      return;
    }
    this.input = input;
    this.pipeline = pipeline;
    this.pipelineSub = input.pipe(pipeline.operator).subscribe({
      next: (u) => this.onUpdate(u),
      error: (e: unknown) => {
        // the map stays; the pipeline stops until reset or a new source
        this.stopSource();
        this.status('error', `pipeline failed: ${(e as Error).message ?? String(e)}`);
      },
      complete: () => this.status('ended'),
    });
  }

  private stopPipeline(): void {
    this.pipelineSub?.unsubscribe();
    this.pipelineSub = null;
    this.input = null;
    try {
      this.pipeline?.destroy();
    } catch {
      // destroying a half-built pipeline must not stop a reset
    }
    this.pipeline = null;
  }

  private openFrames(spec: string): Observable<Frame> {
    if (spec === BROWSER_SPEC) {
      if (!this.browser) throw new Error('no browser camera is connected');
      return this.browser.source.frames;
    }
    return openFrameSource(this.module, spec, (n) => (this.dropped = n));
  }

  private subscribeSource(): void {
    this.stopSource();
    this.sourceEnded = false;
    let frames$: Observable<Frame>;
    try {
      frames$ = this.openFrames(this.spec);
    } catch (e) {
      this.status('error', (e as Error).message);
      return;
    }
    const after = this.lastIndex;
    this.status(this.paused ? 'paused' : 'running');
    this.sourceSub = frames$.pipe(filter((f) => f.index > after)).subscribe({
      next: (f) => this.gate(f),
      error: (e: unknown) => {
        this.sourceEnded = true;
        void this.stopRecording(); // keeps the files valid: the recorder finishes what it has
        this.status('error', (e as Error).message ?? String(e));
      },
      complete: () => {
        this.sourceEnded = true;
        void this.stopRecording();
        // completing the input lets the pipeline mesh what is left, then it reports 'ended'
        if (this.input) this.input.complete();
        else this.status('ended');
      },
    });
  }

  private stopSource(): void {
    this.sourceSub?.unsubscribe();
    this.sourceSub = null;
  }

  private gate(f: Frame): void {
    if (this.paused) return; // live sources keep running and drop while paused
    this.lastIndex = f.index;
    if (this.recorder) {
      this.recorder.subject.next(f);
      this.recorder.frames++;
    }
    if (!this.input) return;
    this.entered.set(f.index, wallMs());
    this.input.next(f);
  }

  private onUpdate(u: PipelineUpdate): void {
    const index = u.frame.index;
    const enteredAt = this.entered.get(index) ?? Number.NaN;
    for (const k of this.entered.keys()) if (k <= index) this.entered.delete(k);
    const update = toSceneUpdate(u, { enteredAt, fps: this.fps.tick(), dropped: this.dropped });
    if (update.meshBlocks.length > 0) {
      update.packed = packMeshBlocks(update.meshBlocks, index, 0);
      update.meshBlocks = [];
    }
    this.emit({ type: 'update', update });
    this.maybePreview(u.frame);
  }

  private maybePreview(frame: Frame): void {
    const now = wallMs();
    if (this.previewBusy || now - this.lastPreviewAt < this.options.frameIntervalMs) return;
    if (frame.rgb.length !== frame.width * frame.height * 3) return;
    this.previewBusy = true;
    this.lastPreviewAt = now;
    encodePreview(frame, this.options.previewWidth, this.options.previewQuality)
      .then((preview) => this.emit({ type: 'frame', preview }))
      .catch(() => undefined)
      .finally(() => (this.previewBusy = false));
  }

  command(c: ProducerCommand): void {
    switch (c.type) {
      case 'pause':
        if (this.paused) return;
        this.paused = true;
        // a replay stops reading and later continues after the last frame it passed on
        if (!isLive(this.spec)) this.stopSource();
        this.status('paused');
        return;
      case 'resume':
        if (!this.paused) return;
        this.paused = false;
        if (!isLive(this.spec) && !this.sourceEnded) this.subscribeSource();
        else this.status(this.sourceEnded ? 'ended' : 'running');
        return;
      case 'reset':
        this.emit({ type: 'reset' });
        this.startPipeline();
        // a replay that had finished plays again from the start
        if (this.sourceEnded || (!isLive(this.spec) && !this.sourceSub)) {
          this.lastIndex = -1;
          this.subscribeSource();
        }
        return;
      case 'setSource':
        this.stopSource();
        void this.stopRecording();
        if (this.browser && c.spec !== BROWSER_SPEC) this.endBrowser();
        this.emit({ type: 'reset' });
        this.start(c.spec);
        return;
      case 'startRecording':
        this.startRecording(c.dir);
        return;
      case 'stopRecording':
        void this.stopRecording();
        return;
      case 'cameraStart':
        this.stopSource();
        this.endBrowser();
        this.browser = { source: browserSource(), clientId: c.clientId };
        this.emit({ type: 'reset' });
        this.start(BROWSER_SPEC);
        return;
      case 'cameraStop':
        if (this.browser?.clientId === c.clientId) this.endBrowser();
        return;
      case 'cameraFrame': {
        const b = this.browser;
        if (!b || b.clientId !== c.clientId) {
          this.emit({ type: 'clientError', clientId: c.clientId, code: 'failed', message: 'camera frame without cameraStart from this client' });
          return;
        }
        b.source.push(c.frame).catch((e: unknown) => {
          const code = e instanceof BrowserFrameError ? 'bad-frame' : 'failed';
          this.emit({ type: 'clientError', clientId: c.clientId, code, message: (e as Error).message });
        });
        this.dropped = b.source.dropped;
        return;
      }
    }
  }

  private endBrowser(): void {
    const b = this.browser;
    this.browser = null;
    b?.source.end();
  }

  private startRecording(dir: string): void {
    if (this.recorder) {
      this.emit({ type: 'recording', dir: this.recorder.dir, message: 'already recording' });
      return;
    }
    if (!this.module.record) {
      this.emit({ type: 'recording', dir: null, message: 'recording is not available in this build' });
      return;
    }
    const subject = new Subject<Frame>();
    let finished = (): void => undefined;
    const rec = { subject, dir, frames: 0, done: new Promise<void>((r) => (finished = r)) };
    this.recorder = rec;
    subject.pipe(this.module.record(dir, this.spec)).subscribe({
      error: (e: unknown) => {
        if (this.recorder === rec) this.recorder = null;
        this.emit({ type: 'recording', dir: null, frames: rec.frames, message: `recording failed: ${(e as Error).message}` });
        finished();
      },
      complete: () => {
        this.emit({ type: 'recording', dir: null, frames: rec.frames });
        finished();
      },
    });
    this.emit({ type: 'recording', dir });
  }

  private stopRecording(): Promise<void> {
    const rec = this.recorder;
    this.recorder = null;
    rec?.subject.complete();
    return rec?.done ?? Promise.resolve();
  }

  /** Stops everything; resolves once a recording in progress has finished writing (at most `recorderTimeoutMs`). */
  async stop(recorderTimeoutMs = 5000): Promise<void> {
    this.stopSource();
    const recording = this.stopRecording();
    this.endBrowser();
    await Promise.race([recording, new Promise<void>((r) => setTimeout(r, recorderTimeoutMs))]);
    this.stopPipeline();
    this.module.dispose?.();
    this.events.complete();
  }
}
