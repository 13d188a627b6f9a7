/** The viewer (web-viewer/), bundled with Bun.build once per process and served from memory. */
import { join } from 'node:path';

export interface ViewerBundle {
  html: string;
  js: string;
}

const viewerDir = join(import.meta.dir, '..', '..', 'web-viewer');
let cached: Promise<ViewerBundle> | null = null;

async function build(): Promise<ViewerBundle> {
  const result = await Bun.build({ entrypoints: [join(viewerDir, 'main.ts')], target: 'browser', minify: true, sourcemap: 'none' });
  if (!result.success || !result.outputs[0]) {
    throw new Error(`viewer bundle failed:\n${result.logs.map((l) => String(l)).join('\n')}`);
  }
  const js = await result.outputs[0].text();
  const html = await Bun.file(join(viewerDir, 'index.html')).text();
  return { html, js };
}

export function viewerBundle(): Promise<ViewerBundle> {
  cached ??= build().catch((e: unknown) => {
    cached = null;
    throw e;
  });
  return cached;
}
