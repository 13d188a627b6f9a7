/**
 * In-process UpdateProducers: a ScanRunner on this thread (tests, tools that
 * are a pipeline already), or any Observable of pipeline updates (the lead's
 * demo, benchmarks). Prefer workerProducer for anything interactive.
 */
import { Subject, type Observable, type Subscription } from 'rxjs';
import type { PipelineUpdate } from '../pipeline/types';
import type { ProducerCommand, ProducerEvent, UpdateProducer } from './producer';
import type { SourceState } from './protocol';
import { ScanRunner, encodePreview, type RunnerOptions, type ScanModule } from './scanRunner';
import { FpsMeter, toSceneUpdate, wallMs } from './sceneUpdate';

export function runnerProducer(module: ScanModule, spec: string, options: RunnerOptions): UpdateProducer {
  const runner = new ScanRunner(module, options);
  const events = new Subject<ProducerEvent>();
  runner.events.subscribe(events);
  return {
    events: events.asObservable(),
    start: () => runner.start(spec),
    send: (c: ProducerCommand) => runner.command(c),
    stop: () => runner.stop(),
  };
}

/**
 * Serve a stream of PipelineUpdates that runs elsewhere. Commands other than
 * reset are answered with a status message saying they are not supported.
 */
export function observableProducer(updates: Observable<PipelineUpdate>, label: string, options: RunnerOptions): UpdateProducer {
  const events = new Subject<ProducerEvent>();
  const fps = new FpsMeter();
  let sub: Subscription | null = null;
  let lastPreviewAt = -Infinity;
  let previewBusy = false;
  let state: SourceState = 'idle';
  const status = (s: SourceState, message?: string): void => {
    state = s;
    events.next({ type: 'status', source: label, state: s, ...(message !== undefined ? { message } : {}) });
  };
  const start = (): void => {
    status('running');
    sub = updates.subscribe({
      next: (u) => {
        events.next({ type: 'update', update: toSceneUpdate(u, { enteredAt: Number.NaN, fps: fps.tick() }) });
        const now = wallMs();
        if (!previewBusy && now - lastPreviewAt >= options.frameIntervalMs && u.frame.rgb.length === u.frame.width * u.frame.height * 3) {
          previewBusy = true;
          lastPreviewAt = now;
          encodePreview(u.frame, options.previewWidth, options.previewQuality)
            .then((preview) => events.next({ type: 'frame', preview }))
            .catch(() => undefined)
            .finally(() => (previewBusy = false));
        }
      },
      error: (e: unknown) => status('error', (e as Error).message ?? String(e)),
      complete: () => status('ended'),
    });
  };
  return {
    events: events.asObservable(),
    start,
    send: (c: ProducerCommand) => {
      if (c.type === 'reset') events.next({ type: 'reset' });
      else if (c.type === 'cameraFrame' || c.type === 'cameraStart') {
        const clientId = c.clientId;
        events.next({ type: 'clientError', clientId, code: 'failed', message: `'${c.type}' is not supported: this server streams ${label}` });
      } else status(state, `'${c.type}' is not supported: this server streams ${label}`);
    },
    stop: async () => {
      sub?.unsubscribe();
      events.complete();
    },
  };
}
