/** An UpdateProducer backed by the pipeline worker (the normal one). */
import { Subject } from 'rxjs';
import type { ProducerCommand, ProducerEvent, UpdateProducer } from './producer';
import type { RunnerOptions } from './scanRunner';
import type { FromWorker, ToWorker } from './workerMessages';

export interface WorkerProducerOptions {
  spec: string;
  /** URL of the scan module (default: src/server/scan.ts, the real pipeline) */
  scanModule?: string;
  moduleOptions?: Record<string, unknown>;
  runner: RunnerOptions;
  /** record from the first frame into this folder */
  recordDir?: string;
}

export const DEFAULT_SCAN_MODULE = new URL('./scan.ts', import.meta.url).href;

export function workerProducer(options: WorkerProducerOptions): UpdateProducer {
  const events = new Subject<ProducerEvent>();
  const worker = new Worker(new URL('./pipelineWorker.ts', import.meta.url).href);
  let stopped: (() => void) | null = null;
  let done = false;
  const post = (m: ToWorker): void => {
    if (!done) worker.postMessage(m);
  };
  worker.onmessage = (e: MessageEvent<FromWorker>): void => {
    const m = e.data;
    if (m.type === 'event') events.next(m.event);
    else if (m.type === 'fatal') events.next({ type: 'status', source: options.spec, state: 'error', message: `pipeline worker: ${m.message}` });
    else if (m.type === 'stopped') stopped?.();
  };
  worker.onerror = (e: ErrorEvent): void => {
    events.next({ type: 'status', source: options.spec, state: 'error', message: `pipeline worker crashed: ${e.message}` });
  };
  return {
    events: events.asObservable(),
    start: () =>
      post({
        type: 'init',
        spec: options.spec,
        scanModule: options.scanModule ?? DEFAULT_SCAN_MODULE,
        moduleOptions: options.moduleOptions ?? {},
        runner: options.runner,
        ...(options.recordDir ? { recordDir: options.recordDir } : {}),
      }),
    send: (command: ProducerCommand) => post({ type: 'command', command }),
    async stop() {
      if (done) return;
      const ack = new Promise<void>((resolve) => (stopped = resolve));
      post({ type: 'stop' });
      // a recording in progress gets up to 5 s in the worker to finish its files
      const timeout = new Promise<void>((resolve) => setTimeout(resolve, 6000).unref());
      await Promise.race([ack, timeout]);
      done = true;
      worker.terminate();
      events.complete();
    },
  };
}
