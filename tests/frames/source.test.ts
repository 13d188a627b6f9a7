import { describe, expect, test } from 'bun:test';
import { join } from 'node:path';
import { from, take } from 'rxjs';
import { SourceError } from '../../src/frames/errors';
import { record } from '../../src/frames/recorder';
import { openSource, parseSourceSpec } from '../../src/frames/source';
import { cleanup, collect, hasTum, tempDir, tumDir } from './helpers';

describe('openSource', () => {
  test('parses scheme, target and parameters', () => {
    expect(parseSourceSpec('tum:/data/fr1?intrinsics=fr2&depthScale=1000')).toEqual({
      scheme: 'tum', target: '/data/fr1', params: { intrinsics: 'fr2', depthScale: '1000' },
    });
    expect(parseSourceSpec('synthetic:room')).toEqual({ scheme: 'synthetic', target: 'room', params: {} });
    expect(parseSourceSpec('recording:rel/dir')).toEqual({ scheme: 'recording', target: 'rel/dir', params: {} });
  });

  test('unknown scheme, empty target, unknown scene, bad or unknown parameter: SourceError at once', () => {
    expect(() => openSource('ftp:somewhere')).toThrow(SourceError);
    expect(() => openSource('ftp:somewhere')).toThrow(/unknown source 'ftp:somewhere': expected tum:PATH, recording:PATH or synthetic:room\|tabletop/);
    expect(() => openSource('/just/a/path')).toThrow(/unknown source/);
    expect(() => openSource('tum:')).toThrow(/expected a folder/);
    expect(() => openSource('synthetic:garden')).toThrow(/unknown synthetic scene 'garden'/);
    expect(() => openSource('synthetic:room?frames=many')).toThrow(/expected a number for 'frames'/);
    expect(() => openSource('synthetic:room?frames=-2')).toThrow(/frames/);
    expect(() => openSource('synthetic:room?colour=red')).toThrow(/unknown parameter 'colour'/);
    expect(() => openSource('tum:/x?onBadFrame=maybe')).toThrow(/onBadFrame=fail\|skip/);
  });

  test('synthetic:room?frames=3&noise=… gives 3 noisy frames; options give defaults under the spec', async () => {
    const frames = await collect(openSource('synthetic:room?frames=3&noise=0.002&width=64&height=48&fx=50&fy=50'));
    expect(frames.length).toBe(3);
    expect(frames[0]!.width).toBe(64);
    const clean = await collect(openSource('synthetic:room?frames=1', { synthetic: { width: 64, height: 48, fx: 50, fy: 50 } }));
    expect(clean[0]!.intrinsics).toEqual(frames[0]!.intrinsics);
    expect(clean[0]!.depth).not.toEqual(frames[0]!.depth!);
  });

  test('recording:PATH replays what record() wrote', async () => {
    const dir = await tempDir();
    try {
      const frames = await collect(openSource('synthetic:tabletop?frames=2&width=48&height=36&fx=40&fy=40'));
      await collect(from(frames).pipe(record(join(dir, 'rec'), { fsync: false })));
      const back = await collect(openSource(`recording:${join(dir, 'rec')}`));
      expect(back.length).toBe(2);
      expect(back[1]!.rgb).toEqual(frames[1]!.rgb);
    } finally {
      await cleanup(dir);
    }
  });

  test.skipIf(!hasTum)('tum:PATH with parameters reaches the TUM reader', async () => {
    const [f] = await collect(openSource(`tum:${tumDir}?intrinsics=fr3&depthScale=1000`).pipe(take(1)));
    expect(f!.intrinsics.fx).toBe(535.4);
    expect(f!.depth![240 * 640 + 320]).toBe(Math.fround(6.192));
    const missing = await collect(openSource('tum:/no/such/folder')).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(SourceError);
  });
});
