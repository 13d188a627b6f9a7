/**
 * `bun bench/python.ts [--quick]`: MASt3R's own Python post-processing before and
 * after `scanstream.mast3r.patch()` (bench/mast3r_patch.py, Debian's python3-torch,
 * same inputs in one process, medians). A table on stderr, JSON on stdout, saved
 * under bench/results/python-<date>.json. The README's "From Python (MASt3R)"
 * figures come from here.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

const PYTHON = process.env.SCANSTREAM_BENCH_PYTHON ?? '/usr/bin/python3';
const root = join(import.meta.dir, '..');

interface Step {
  name: string;
  what: string;
  via: string;
  before_ms: number;
  after_ms: number;
  speedup: number;
  reps: [number, number];
  equal_results: boolean | null;
}

export function runPythonBench(quick = false): { report: Record<string, unknown>; steps: Step[] } {
  const args = [join(import.meta.dir, 'mast3r_patch.py'), ...(quick ? ['--quick'] : [])];
  const r = spawnSync(PYTHON, args, {
    cwd: root, encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, PYTHONPATH: join(root, 'python'), PYTHONDONTWRITEBYTECODE: '1' },
  });
  if (r.status !== 0) throw new Error(`${PYTHON} ${args.join(' ')} exited ${r.status ?? r.signal}`);
  const report = JSON.parse(r.stdout) as Record<string, unknown> & { steps: Step[] };
  return { report, steps: report.steps };
}

if (import.meta.main) {
  const { report, steps } = runPythonBench(process.argv.includes('--quick'));
  const full = { date: new Date().toISOString(), machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length }, ...report };
  const pad = (s: string, n: number): string => s.padEnd(n);
  console.error(`\n${pad('step', 38)}${pad('MASt3R (torch)', 16)}${pad('patched', 12)}speedup  equal`);
  for (const s of steps) {
    console.error(`${pad(s.name, 38)}${pad(`${s.before_ms.toFixed(1)} ms`, 16)}${pad(`${s.after_ms.toFixed(1)} ms`, 12)}` +
      `${pad(`${s.speedup}×`, 9)}${s.equal_results === null ? '–' : s.equal_results ? 'yes' : 'NO'}`);
  }
  const text = JSON.stringify(full, null, 2);
  console.log(text);
  const dir = join(import.meta.dir, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `python-${full.date}.json`.replace(/:/g, '-'));
  writeFileSync(file, text);
  console.error(`bench: report saved to ${file}`);
}
