/**
 * Bun Worker entry: runs the scan (source → pipeline) off the main thread, so
 * the HTTP/WebSocket server never waits on a kernel. Events are posted as
 * structured clones (mesh arrays are copied: the pipeline may still own them).
 */
import type { ScanModule } from './scanRunner';
import { ScanRunner } from './scanRunner';
import type { FromWorker, ToWorker } from './workerMessages';

declare const self: Worker;

let runner: ScanRunner | null = null;
const early: ToWorker[] = [];
let starting = false;

function post(m: FromWorker): void {
  // packed mesh messages move to the server thread without a copy
  if (m.type === 'event' && m.event.type === 'update' && m.event.update.packed) self.postMessage(m, [m.event.update.packed.buffer]);
  else self.postMessage(m);
}

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  starting = true;
  try {
    const mod = (await import(m.scanModule)) as { createScanModule?: (o: Record<string, unknown>) => ScanModule | Promise<ScanModule> };
    if (typeof mod.createScanModule !== 'function') throw new Error(`${m.scanModule} does not export createScanModule()`);
    const scan = await mod.createScanModule(m.moduleOptions);
    runner = new ScanRunner(scan, m.runner);
    runner.events.subscribe((event) => post({ type: 'event', event }));
    if (m.recordDir) runner.command({ type: 'startRecording', dir: m.recordDir });
    runner.start(m.spec);
  } catch (e) {
    post({ type: 'fatal', message: (e as Error).message ?? String(e) });
  }
  starting = false;
  for (const e of early.splice(0)) handle(e);
}

function handle(m: ToWorker): void {
  switch (m.type) {
    case 'init':
      void init(m);
      return;
    case 'command':
      if (runner) runner.command(m.command);
      else if (starting) early.push(m);
      return;
    case 'stop':
      if (starting) {
        early.push(m);
        return;
      }
      void (runner?.stop() ?? Promise.resolve()).finally(() => post({ type: 'stopped' }));
      runner = null;
      return;
  }
}

self.onmessage = (e: MessageEvent<ToWorker>): void => handle(e.data);

// Frames are large typed arrays (2 MB each at 640×480) that the worker's GC does not
// count as pressure: measured on Bun 1.4, RSS grew ~12 MB/s while scanning and
// never came back. A full collection each second (a few ms) keeps it flat.
setInterval(() => Bun.gc(true), 1000);
