import { describe, expect, test } from 'bun:test';
import { resolve } from 'node:path';
import { importCycles, layerViolations, readImportGraph, type ImportGraph } from './helpers/importGraph';

const graph = readImportGraph(resolve(import.meta.dir, '..', 'src'));

/**
 * Loops left to their owners: each names its files in loop order and why it
 * is still there. An entry that no longer loops fails the test, so it is
 * removed once mended.
 */
const OWNED_CYCLES: { loop: string[]; why: string }[] = [];

describe('layers of src/ (DESIGN.md §2)', () => {
  test(`every import of the ${graph.size} files goes to the same or a lower layer, and resolves to a file`, () => {
    const violations = layerViolations(graph);
    for (const v of violations) console.log(`layer violation: ${v}`);
    expect(violations).toEqual([]);
  });

  test('no files import each other in a loop', () => {
    const cycles = importCycles(graph).map((c) => c.join(' → '));
    const owned = new Set(OWNED_CYCLES.map((o) => o.loop.join(' → ')));
    const unowned = cycles.filter((c) => !owned.has(c));
    for (const c of unowned) console.log(`import loop: ${c} → (back)`);
    expect(unowned).toEqual([]);
    // a mended loop leaves the list
    expect(OWNED_CYCLES.map((o) => o.loop.join(' → ')).filter((c) => !cycles.includes(c))).toEqual([]);
  });

  test('the checks catch a seeded back-edge, an unknown layer, an unresolved import and a loop', () => {
    const seeded: ImportGraph = new Map([
      ['geometry/se3.ts', ['frames/frame.ts']],
      ['frames/frame.ts', ['geometry/se3.ts']],
      ['server/server.ts', ['pipeline/types.ts', 'cli/scan.ts']],
      ['pipeline/types.ts', []],
      ['cli/scan.ts', ['server/server.ts', '?./gone']],
      ['widgets/knob.ts', []],
    ]);
    expect(layerViolations(seeded)).toEqual([
      'geometry/se3.ts (geometry) imports frames/frame.ts (frames): a higher layer',
      'server/server.ts (server) imports cli/scan.ts (cli): a higher layer',
      'cli/scan.ts imports ./gone, which is no file',
      "widgets/knob.ts: 'widgets' is not a layer of DESIGN.md §2",
    ]);
    expect(importCycles(seeded)).toEqual([['geometry/se3.ts', 'frames/frame.ts'], ['server/server.ts', 'cli/scan.ts']]);
    expect(importCycles(new Map([['a.ts', ['b.ts']], ['b.ts', []]]))).toEqual([]);
  });
});
