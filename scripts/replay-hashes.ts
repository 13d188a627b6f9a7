/**
 * `bun scripts/replay-hashes.ts [--out DIR] [--check HASHES.json]`: runs the
 * replays a refactor must leave bit-identical (RGB-D scan of the TUM clip and
 * of the synthetic room, monocular scan of the room, known-pose fusion of the
 * room; all on the CPU backend) and prints the SHA-256 of each
 * trajectory.txt and mesh.ply as JSON. With --check, compares with a JSON
 * printed earlier (e.g. at the commit before the refactor) and exits 1 on any
 * difference. Hashes depend on the CPU library's build (SIMD paths), so keep
 * the baseline from the same machine and library.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dir, '..');
const tum = resolve(root, '..', 'shared', 'data', 'tum_fr1_rpy');

const runs: Record<string, { args: string[]; files: string[] }> = {
  tum: { args: ['scan', '--source', `tum:${tum}`, '--quiet'], files: ['trajectory.txt', 'mesh.ply'] },
  room: { args: ['scan', '--source', 'synthetic:room?frames=30', '--quiet'], files: ['trajectory.txt', 'mesh.ply'] },
  mono: {
    args: ['scan', '--mode', 'mono', '--source', 'synthetic:room?frames=45&width=320&height=240&fx=262.5&fy=262.5', '--quiet'],
    files: ['trajectory.txt', 'mesh.ply'],
  },
  fuse: { args: ['fuse', '--source', 'synthetic:room?frames=30'], files: ['mesh.ply'] },
};

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function main(): number {
  const { values } = parseArgs({ options: { out: { type: 'string' }, check: { type: 'string' } } });
  const work = values.out ? resolve(values.out) : mkdtempSync(join(tmpdir(), 'scanstream-replay-'));
  const hashes: Record<string, string> = {};
  for (const [name, run] of Object.entries(runs)) {
    if (name === 'tum' && !existsSync(tum)) {
      console.error(`replay-hashes: skipping tum (${tum} is absent)`);
      continue;
    }
    const dir = join(work, name);
    const out = name === 'fuse' ? ['--out', join(dir, 'mesh.ply')] : ['--out', dir];
    const r = Bun.spawnSync([process.execPath, join(root, 'src', 'cli.ts'), ...run.args, ...out, '--backend', 'cpu'], { env: { ...process.env, CI: '1' } });
    if (r.exitCode !== 0) {
      console.error(`replay-hashes: ${name} failed (exit ${r.exitCode}):\n${r.stderr.toString()}`);
      return 1;
    }
    for (const f of run.files) hashes[`${name}/${f}`] = sha256(join(dir, f));
  }
  console.log(JSON.stringify(hashes, null, 2));
  if (!values.check) return 0;
  const expected = JSON.parse(readFileSync(values.check, 'utf8')) as Record<string, string>;
  const differ = Object.keys(expected).filter((k) => hashes[k] !== expected[k]);
  for (const k of differ) console.error(`replay-hashes: ${k} differs: ${hashes[k] ?? 'missing'} (expected ${expected[k]})`);
  if (differ.length === 0) console.error(`replay-hashes: all ${Object.keys(expected).length} hashes match ${values.check}`);
  return differ.length === 0 ? 0 : 1;
}

process.exit(main());
