import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { absoluteTrajectoryError, relativePoseError, trajectorySvg, type DeltaUnit } from '../eval/trajectory';
import { readTumTrajectory } from '../frames/trajectory';

const usage = `usage: scanstream eval traj --est A.txt --truth B.txt [--sim3] [--plot traj.svg]
                             [--max-difference 0.02] [--offset 0] [--scale 1]
                             [--fixed-delta [--delta 1] [--delta-unit s|m|rad|deg|f]]

Both files in TUM format (timestamp tx ty tz qx qy qz qw, camera-to-world).
Prints JSON: ATE as evaluate_ate.py (timestamp association ≤ max-difference,
Horn alignment; --sim3 also fits a scale, for monocular estimates) and RPE as
evaluate_rpe.py (every pair of poses, or a seeded sample of 10000; with
--fixed-delta the pairs one --delta apart, e.g. 1 s for drift per second, or
1 f for frame-to-frame). Metres and degrees. --plot writes an SVG: top view
of both trajectories and the error over time.`;

export async function runEvalTraj(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      est: { type: 'string' },
      truth: { type: 'string' },
      sim3: { type: 'boolean', default: false },
      plot: { type: 'string' },
      'max-difference': { type: 'string', default: '0.02' },
      offset: { type: 'string', default: '0' },
      scale: { type: 'string', default: '1' },
      delta: { type: 'string', default: '1' },
      'delta-unit': { type: 'string', default: 's' },
      'fixed-delta': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.est || !values.truth) {
    console.error(`scanstream eval traj: --est and --truth are required\n\n${usage}`);
    return 2;
  }
  const num = (name: string, v: string, positive: boolean): number | null => {
    const x = Number(v);
    if (!Number.isFinite(x) || (positive && !(x > 0))) {
      console.error(`scanstream eval traj: --${name} must be a ${positive ? 'positive ' : ''}number, got '${v}'`);
      return null;
    }
    return x;
  };
  const maxDifference = num('max-difference', values['max-difference'], true);
  const offset = num('offset', values.offset, false);
  const scale = num('scale', values.scale, true);
  const delta = num('delta', values.delta, true);
  if (maxDifference === null || offset === null || scale === null || delta === null) return 2;
  const unit = values['delta-unit'];
  if (!['s', 'm', 'rad', 'deg', 'f'].includes(unit)) {
    console.error(`scanstream eval traj: --delta-unit must be s, m, rad, deg or f, got '${unit}'`);
    return 2;
  }
  const est = await readTumTrajectory(values.est);
  const truth = await readTumTrajectory(values.truth);
  const ate = absoluteTrajectoryError(est, truth, { maxDifference, offset, scale, sim3: values.sim3 });
  let rpe: ReturnType<typeof relativePoseError> | { error: string };
  try {
    rpe = relativePoseError(est, truth, { fixedDelta: values['fixed-delta'], delta, deltaUnit: unit as DeltaUnit, offset, scale });
  } catch (e) {
    rpe = { error: (e as Error).message };
  }
  const { matches: _m, alignment, ...ateStats } = ate;
  console.log(JSON.stringify({
    est: values.est, truth: values.truth, estimatedPoses: est.length,
    ate: { ...ateStats, alignment: Array.from(alignment) },
    rpe: values['fixed-delta'] ? { delta, deltaUnit: unit, ...rpe } : { allPairs: true, ...rpe },
  }, null, 2));
  if (values.plot) {
    await writeFile(values.plot, trajectorySvg(ate, `${values.est} vs ${values.truth}`));
    console.error(`scanstream eval traj: wrote ${values.plot}`);
  }
  return 0;
}

export async function run(argv: string[]): Promise<number> {
  return runEvalTraj(argv);
}
