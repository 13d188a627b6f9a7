/**
 * patch() / unpatch() on stand-in `mast3r` / `dust3r` packages laid out as MASt3R's
 * (tests/python/patch_check.py): replaced where defined and where imported by
 * name, equal results, MASt3R's own function for what scanstream does not serve,
 * everything restored by unpatch().
 */
import { beforeAll, describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { projectRoot } from '../../src/native/library';
import { pythonStatus, runPython } from './harness';

const py = pythonStatus();
const missing = py.missing ?? (py.torch ? null : 'torch is not installed (apt-get install python3-torch)');

const names = [
  "patch() before patching: every name is MASt3R's",
  'patch() replaces every function where it is defined',
  'patch() rebinds the names other modules imported (sparse_ga, colmap.database, visloc)',
  'patch() reports nothing missing',
  'a module imported after patch() gets the replacement',
  'patch() twice wraps once',
  "sparse_ga.fast_reciprocal_NNs (dist=dot) equals MASt3R's",
  "fast_reciprocal_NNs ret_xy=False equals MASt3R's",
  "fast_reciprocal_NNs ret_basin equals MASt3R's",
  "fast_reciprocal_NNs seeds with pixel_tol=5 (visloc's call) equals MASt3R's",
  "extract_correspondences_nonsym (MASt3R code calling patched functions) equals MASt3R's",
  "colmap.database.bruteforce_reciprocal_nns equals MASt3R's",
  "visloc.geotrf equals dust3r's",
  "depthmap_to_pts3d (per-pixel focal) equals dust3r's",
  "batched_triangulate equals MASt3R's",
  'matches_to_depths equals the stand-in',
  "get_similarities equals MASt3R's",
  "InfoNCE(mode='proper').loss equals MASt3R's",
  'those calls were served by scanstream, none by the originals',
  "InfoNCE(mode='all') runs MASt3R's",
  "float64 geotrf (visloc's pixel rescaling) runs dust3r's",
  "a tensor that needs a gradient runs MASt3R's (and the gradient flows)",
  "an unsupported matcher option runs MASt3R's",
  'those calls went to the originals, with the reason',
  "TSDFPostProcess._refine_depths_with_TSDF is served (seeded from torch's generator)",
  "TSDFPostProcess with niter=2 runs MASt3R's",
  'unpatch() puts every original back, in every module (late imports too)',
  "after unpatch() calls run MASt3R's again",
];

describe.skipIf(missing !== null)(`scanstream.mast3r.patch() on stand-in MASt3R modules${missing ? ` (skipped: ${missing})` : ''}`, () => {
  let results = new Map<string, { ok: boolean; detail: string | null }>();
  beforeAll(() => {
    const out = runPython([join(projectRoot, 'tests', 'python', 'patch_check.py')]).stdout;
    const parsed = JSON.parse(out) as { checks: { name: string; ok: boolean; detail: string | null }[] };
    results = new Map(parsed.checks.map((c) => [c.name, c]));
  });

  test('the script ran exactly these checks', () => {
    expect([...results.keys()]).toEqual(names);
  });
  for (const name of names) {
    test(name, () => {
      const r = results.get(name);
      if (r && !r.ok) console.error(`${name}: ${r.detail}`);
      expect(r?.ok).toBe(true);
    });
  }
});
