import { writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { absoluteTrajectoryError, relativePoseError, trajectorySvg } from '../eval/trajectory';
import { readTumTrajectory } from '../frames/trajectory';
import { runCommand, type Command } from './args';

const command = {
  name: 'scanstream eval traj',
  about: `Both files in TUM format (timestamp tx ty tz qx qy qz qw, camera-to-world).
Prints JSON: ATE as evaluate_ate.py (timestamp association ≤ max-difference,
Horn alignment; --sim3 also fits a scale, for monocular estimates) and RPE as
evaluate_rpe.py (every pair of poses, or a seeded sample of 10000; with
--fixed-delta the pairs one --delta apart, e.g. 1 s for drift per second, or
1 f for frame-to-frame). Metres and degrees.`,
  flags: z.object({
    est: z.string(),
    truth: z.string(),
    sim3: z.boolean().default(false),
    plot: z.string().optional(),
    maxDifference: z.number().positive().default(0.02),
    offset: z.number().default(0),
    scale: z.number().positive().default(1),
    fixedDelta: z.boolean().default(false),
    delta: z.number().positive().default(1),
    deltaUnit: z.enum(['s', 'm', 'rad', 'deg', 'f']).default('s'),
  }),
  help: {
    est: { arg: 'A.txt', help: 'the estimated trajectory' },
    truth: { arg: 'B.txt', help: 'the true trajectory (groundtruth.txt)' },
    sim3: { help: 'align with a scale too (monocular estimates)' },
    plot: { arg: 'traj.svg', help: 'an SVG: top view of both trajectories and the error over time' },
    maxDifference: { arg: 'S', help: 'timestamp association window, seconds' },
    offset: { arg: 'S', help: 'time offset added to the estimate\'s timestamps' },
    scale: { help: 'scale applied to the estimate' },
    fixedDelta: { help: 'RPE over pairs one --delta apart (default: every pair)' },
    delta: { help: 'the RPE step, in --delta-unit' },
    deltaUnit: { help: 'seconds, metres, radians, degrees or frames' },
  },
} satisfies Command;

export function run(argv: string[]): Promise<number> {
  return runCommand(command, argv, async (f) => {
    const est = await readTumTrajectory(f.est);
    const truth = await readTumTrajectory(f.truth);
    const ate = absoluteTrajectoryError(est, truth, { maxDifference: f.maxDifference, offset: f.offset, scale: f.scale, sim3: f.sim3 });
    let rpe: ReturnType<typeof relativePoseError> | { error: string };
    try {
      rpe = relativePoseError(est, truth, { fixedDelta: f.fixedDelta, delta: f.delta, deltaUnit: f.deltaUnit, offset: f.offset, scale: f.scale });
    } catch (e) {
      rpe = { error: (e as Error).message };
    }
    const { matches: _m, alignment, ...ateStats } = ate;
    console.log(JSON.stringify({
      est: f.est, truth: f.truth, estimatedPoses: est.length,
      ate: { ...ateStats, alignment: Array.from(alignment) },
      rpe: f.fixedDelta ? { delta: f.delta, deltaUnit: f.deltaUnit, ...rpe } : { allPairs: true, ...rpe },
    }, null, 2));
    if (f.plot) {
      await writeFile(f.plot, trajectorySvg(ate, `${f.est} vs ${f.truth}`));
      console.error(`scanstream eval traj: wrote ${f.plot}`);
    }
    return 0;
  });
}
