/** Messages between the main thread (workerProducer) and the pipeline worker (pipelineWorker.ts). */
import type { ProducerCommand, ProducerEvent } from './producer';
import type { RunnerOptions } from './scanRunner';

export interface WorkerInit {
  type: 'init';
  spec: string;
  /** URL of a module exporting createScanModule(options): ScanModule | Promise<ScanModule> */
  scanModule: string;
  /** passed to createScanModule (structured-cloneable) */
  moduleOptions: Record<string, unknown>;
  runner: RunnerOptions;
  /** start recording into this folder before the first frame */
  recordDir?: string;
}

export type ToWorker = WorkerInit | { type: 'command'; command: ProducerCommand } | { type: 'stop' };

export type FromWorker =
  | { type: 'event'; event: ProducerEvent }
  /** the worker could not start (module failed to load, pipeline failed to build) */
  | { type: 'fatal'; message: string }
  | { type: 'stopped' };
