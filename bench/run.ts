/**
 * `bun run bench [fusion|tracking|mast3r|server|mono|backends|soak|all] [--backend cpu|cuda|…]` (all = every suite but soak, which
 * runs 10 minutes): JSON report on stdout (progress on stderr), also saved under bench/results/<suite>-<date>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';

type Suite = () => Promise<object>;

const suites: Record<string, () => Promise<Suite>> = {
  fusion: async () => (await import('./fusion')).runFusionBench,
  tracking: async () => (await import('./tracking')).runTrackingBench,
  mast3r: async () => (await import('./mast3r')).runMast3rBench,
  server: async () => (await import('./server')).runServerBench,
  mono: async () => (await import('./mono')).runMonoBench,
  backends: async () => (await import('./backends')).runBackendsBench,
  soak: async () => (await import('./soak')).runSoakBench,
};

async function main(): Promise<number> {
  // flags are for the suites (e.g. `--backend cuda`, read by bench/mast3r.ts): neither they nor their values are suite names
  const argv = process.argv.slice(2);
  const wanted = argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '--backend');
  const names = wanted.length === 0 || wanted.includes('all') ? Object.keys(suites).filter((n) => n !== 'soak') : wanted;
  const unknown = names.filter((n) => !suites[n]);
  if (unknown.length) {
    console.error(`bench: unknown suite(s) ${unknown.join(', ')}; choose from ${Object.keys(suites).join(', ')}, all`);
    return 2;
  }
  const machine = { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, platform: process.platform, bun: Bun.version };
  const report: Record<string, unknown> = { date: new Date().toISOString(), machine };
  for (const name of names) {
    console.error(`bench: ${name}…`);
    try {
      const run = await (suites[name] as () => Promise<Suite>)();
      report[name] = await run();
    } catch (e) {
      report[name] = { error: (e as Error).message };
      console.error(`bench: ${name} failed: ${(e as Error).stack ?? e}`);
    }
  }
  const text = JSON.stringify(report, null, 2);
  console.log(text);
  const dir = join(import.meta.dir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${names.join('+')}-${report.date as string}.json`.replace(/:/g, '-'));
  writeFileSync(file, text);
  console.error(`bench: report saved to ${file}`);
  return 0;
}

process.exit(await main());
