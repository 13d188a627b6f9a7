/**
 * `scanstream backends`: which backends are built here, whether they start, and
 * for each kernel of the C ABI where it runs (on the backend, or on the CPU
 * through the fallback).
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NativeContext } from '../native/context';
import { backendNames, libraryFor, type BackendName } from '../native/library';
import { parseBackendFlag } from './backendFlag';

const usage = `usage: scanstream backends [--backend B] [--json]

Lists each backend (${backendNames.join(', ')}): its library, whether it starts on
this machine, and for each kernel whether the backend runs it or the CPU does
in its place (a kernel a backend lacks always runs, on the CPU).
  --backend B   only this backend (auto: the one \`auto\` picks here)
  --json        machine-readable`;

interface BackendReport {
  backend: BackendName;
  library: string;
  built: boolean;
  starts: boolean;
  label?: string;
  unifiedMemory?: boolean;
  error?: string;
  kernels?: { kernel: string; runsOn: 'backend' | 'cpu-fallback' }[];
}

function probe(backend: BackendName): BackendReport {
  const library = libraryFor(backend);
  if (!existsSync(library)) return { backend, library, built: false, starts: false };
  let ctx: NativeContext | null = null;
  try {
    ctx = NativeContext.create({ backend });
    return { backend, library, built: true, starts: true, label: ctx.backendLabel, unifiedMemory: ctx.unifiedMemory, kernels: ctx.placement() };
  } catch (e) {
    return { backend, library, built: true, starts: false, error: (e as Error).message };
  } finally {
    ctx?.destroy();
  }
}

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: { backend: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, strict: true }));
  } catch (e) {
    console.error(`scanstream backends: ${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  const flag = parseBackendFlag(values.backend);
  if ('error' in flag) {
    console.error(`scanstream backends: ${flag.error}`);
    return 2;
  }
  let which: BackendName[] = [...backendNames];
  if (flag.backend === 'auto') {
    const ctx = NativeContext.create({ backend: 'auto' });
    which = [ctx.backend];
    ctx.destroy();
  } else if (flag.backend) which = [flag.backend];
  const reports = which.map(probe);
  if (values.json) {
    console.log(JSON.stringify(reports, null, 2));
    return 0;
  }
  for (const r of reports) {
    const state = !r.built ? 'not built' : r.starts ? `starts (${r.label}${r.unifiedMemory ? ', unified memory' : ', device memory'})` : `built, cannot start: ${r.error}`;
    console.log(`${r.backend}: ${state}\n  ${r.library}`);
    if (!r.kernels) continue;
    const own = r.kernels.filter((k) => k.runsOn === 'backend').map((k) => k.kernel);
    const cpu = r.kernels.filter((k) => k.runsOn === 'cpu-fallback').map((k) => k.kernel);
    console.log(`  on ${r.backend} (${own.length}): ${own.join(' ') || '—'}`);
    if (cpu.length) console.log(`  on the CPU in its place (${cpu.length}): ${cpu.join(' ')}`);
  }
  return 0;
}
