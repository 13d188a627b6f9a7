/**
 * `scanstream backends`: which backends are built here, whether they start, and
 * for each kernel of the C ABI where it runs (on the backend, or on the CPU
 * through the fallback).
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import { NativeContext } from '../native/context';
import { backendNames, libraryFor, type BackendName } from '../native/library';
import { backendFlag, runCommand, type Command } from './args';

const command = {
  name: 'scanstream backends',
  about: `Lists each backend (${backendNames.join(', ')}): its library, whether it starts on
this machine, and for each kernel whether the backend runs it or the CPU does
in its place (a kernel a backend lacks always runs, on the CPU).`,
  flags: z.object({ backend: backendFlag, json: z.boolean().default(false) }),
  help: {
    backend: { help: 'only this backend (auto: the one `auto` picks here)' },
    json: { help: 'machine-readable' },
  },
} satisfies Command;

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

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, (flags) => {
    let which: BackendName[] = [...backendNames];
    if (flags.backend === 'auto') {
      const ctx = NativeContext.create({ backend: 'auto' });
      which = [ctx.backend];
      ctx.destroy();
    } else if (flags.backend) which = [flags.backend];
    return report(which.map(probe), flags.json);
  });
}

function report(reports: BackendReport[], json: boolean): number {
  if (json) {
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
