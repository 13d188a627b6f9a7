#!/usr/bin/env bun
/**
 * scanstream command line. Each subcommand lives in src/cli/<name>.ts and
 * exports `run(argv): Promise<number>` (the exit code).
 */
const commands: Record<string, { summary: string; load: () => Promise<{ run: (argv: string[]) => Promise<number> }> }> = {
  demo: { summary: 'fuse the embedded synthetic room and report (npm start)', load: () => import('./cli/demo') },
  fuse: { summary: 'fuse a sequence with known poses into a TSDF mesh', load: () => import('./cli/fuse') },
  eval: { summary: 'evaluate a mesh (eval mesh) against a truth surface', load: () => import('./cli/eval') },
  scan: { summary: 'estimate the trajectory (RGB-D SLAM), fuse a mesh, report ATE/RPE', load: () => import('./cli/scan') },
  serve: { summary: 'run a source through the pipeline and serve the live viewer', load: () => import('./cli/serve') },
  record: { summary: 'record any source (camera:0, lavfi:…) in the recording format', load: () => import('./cli/record') },
  replay: { summary: 'play a recording through the pipeline and viewer (or --headless)', load: () => import('./cli/replay') },
  backends: { summary: 'which backends are built and start here, and where each kernel runs', load: () => import('./cli/backends') },
  mast3r: { summary: 'MASt3R post-processing on .npy files (reciprocal NN, triangulation, TSDF depth refinement)', load: () => import('./cli/mast3r') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: scanstream <command> [options]\n\ncommands:\n${lines.join('\n')}\n\nscanstream <command> --help for a command's options`;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name ? 0 : 1;
  }
  const command = commands[name];
  if (!command) {
    console.error(`scanstream: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

if (import.meta.main) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      const e = err as Error;
      console.error(`scanstream: ${e?.message ?? String(err)}`);
      if (process.env.SCANSTREAM_DEBUG) console.error(e?.stack);
      process.exit(1);
    },
  );
}
