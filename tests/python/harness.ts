/**
 * Drives the Python package from bun tests: writes inputs as .npy, runs
 * tests/python/driver.py (or another script) with Debian's /usr/bin/python3 and
 * PYTHONPATH=python, and reads the results back for comparison with the
 * TypeScript API.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy, type NdArray } from '../../src/mast3r';
import { projectRoot } from '../../src/native/library';

/** Debian's interpreter, as `.ci/run` installs it with python3-numpy and python3-torch (SCANSTREAM_TEST_PYTHON overrides) */
export const python = process.env.SCANSTREAM_TEST_PYTHON ?? '/usr/bin/python3';
export const driver = join(projectRoot, 'tests', 'python', 'driver.py');

export interface PythonStatus {
  /** why the Python tests cannot run here, or null */
  missing: string | null;
  torch: boolean;
}

let status: PythonStatus | null = null;

/** Whether python3 with numpy is here (torch is optional: its variants are then reported as skipped). */
export function pythonStatus(): PythonStatus {
  if (status) return status;
  if (!existsSync(python)) return (status = { missing: `${python} is not installed (apt-get install python3 python3-numpy)`, torch: false });
  const r = spawnSync(python, ['-c', 'import numpy\ntry:\n import torch; print("torch")\nexcept ImportError:\n print("no torch")'], { encoding: 'utf8' });
  if (r.status !== 0) return (status = { missing: `numpy is not importable by ${python} (apt-get install python3-numpy): ${r.stderr.trim()}`, torch: false });
  return (status = { missing: null, torch: r.stdout.trim() === 'torch' });
}

export function pythonEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...extra })) if (v !== undefined) env[k] = v;
  env.PYTHONPATH = join(projectRoot, 'python');
  env.PYTHONDONTWRITEBYTECODE = '1';
  return env;
}

/** Runs a Python script; throws with its stderr when it fails. */
export function runPython(args: string[], extraEnv: Record<string, string | undefined> = {}, cwd = projectRoot): { stdout: string; stderr: string } {
  const r = spawnSync(python, args, { cwd, env: pythonEnv(extraEnv), encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${python} ${args.join(' ')} exited ${r.status ?? r.signal}:\n${r.stderr}`);
  return { stdout: r.stdout, stderr: r.stderr };
}

export type Variant = 'numpy' | 'torch' | 'float64' | 'strided' | 'torch64' | 'torch_grad';

export interface Output {
  kind: string;
  dtype?: string;
  shape?: number[];
  device?: string;
  file?: string;
  value?: string;
}

export interface TransferStats {
  wrapped: number;
  converted_bytes: number;
  copied_bytes: number;
  fallback_calls: number;
  fallback_bytes: number;
  fallback_kernels: string[];
}

export interface CallResult {
  id: string;
  variant: Variant;
  skipped?: string;
  error?: { type: string; message: string; input_error: boolean; unsupported: boolean };
  outputs?: Output[];
  stats?: TransferStats;
}

export interface BackendInfo {
  backend: string;
  library: string;
  unified_memory: boolean;
  cpu_fallback_kernels: string[];
}

export interface Call {
  id: string;
  fn: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  variants?: Variant[];
}

/** One batch of calls for one Python process (starting python with torch costs a second or so). */
export class Job {
  readonly dir = mkdtempSync(join(tmpdir(), 'scanstream-py-'));
  private readonly calls: Call[] = [];
  private n = 0;
  private results: Map<string, CallResult> | null = null;
  backend: BackendInfo | null = null;

  /** An input array as the driver's {"npy": path} argument; keep: never converted by the variant (e.g. a seed list). */
  arr(nd: NdArray, opts: { keep?: boolean; astype?: string } = {}): { npy: string; keep?: boolean; astype?: string } {
    const file = join(this.dir, `in${this.n++}.npy`);
    writeNpy(file, nd);
    return { npy: file, ...opts };
  }

  add(call: Call): void {
    if (this.calls.some((c) => c.id === call.id)) throw new Error(`duplicate call id ${call.id}`);
    this.calls.push(call);
  }

  run(extraEnv: Record<string, string | undefined> = {}, backend?: Record<string, unknown>): void {
    const file = join(this.dir, 'job.json');
    const resultsFile = join(this.dir, 'results.json');
    writeFileSync(file, JSON.stringify({ results: resultsFile, calls: this.calls, backend }));
    runPython([driver, file], extraEnv);
    const parsed = JSON.parse(readFileSync(resultsFile, 'utf8')) as { backend: BackendInfo; results: CallResult[] };
    this.backend = parsed.backend;
    this.results = new Map(parsed.results.map((r) => [`${r.id}/${r.variant}`, r]));
  }

  result(id: string, variant: Variant = 'numpy'): CallResult {
    const r = this.results?.get(`${id}/${variant}`);
    if (!r) throw new Error(`no result for ${id} (${variant}): did the job run?`);
    return r;
  }

  /** The outputs of a call that must have succeeded, read back. */
  outputs(id: string, variant: Variant = 'numpy'): { arrays: NdArray[]; info: Output[] } {
    const r = this.result(id, variant);
    if (r.error) throw new Error(`${id} (${variant}) raised ${r.error.type}: ${r.error.message}`);
    const info = r.outputs ?? [];
    return { arrays: info.map((o) => (o.file ? readNpy(o.file) : { data: new Float32Array(0), shape: [] })), info };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Numbers of an array (int64 as numbers). */
export function numbers(a: NdArray): number[] {
  return Array.from(a.data as ArrayLike<number | bigint>, (v) => Number(v));
}

/** max |a − b| / max(|b|, floor), NaN positions required to match (Infinity when they do not). */
export function relError(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-6): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (Number.isNaN(x) || Number.isNaN(y)) {
      if (Number.isNaN(x) !== Number.isNaN(y)) return Infinity;
      continue;
    }
    worst = Math.max(worst, Math.abs(x - y) / Math.max(Math.abs(y), floor));
  }
  return worst;
}

/** The message a TypeScript call throws (for comparing the Python package's errors with the CLI's). */
export function thrown(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('expected the TypeScript call to throw');
}
