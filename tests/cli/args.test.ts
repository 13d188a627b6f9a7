import { describe, expect, test } from 'bun:test';
import { z } from 'zod';
import { checkOptions, jsonObjectFlag, parseCommand, usage, UsageError, type Command } from '../../src/cli/args';
import { TrackingOptionsSchema } from '../../src/config';

const cmd = {
  name: 'scanstream try',
  about: 'A command to try the parser on.',
  positionals: { names: ['IN'], noun: 'input file' },
  flags: z.object({
    out: z.string(),
    maxDepth: z.number().positive().default(4),
    frames: z.number().int().positive().optional(),
    mode: z.enum(['rgbd', 'mono']).default('rgbd'),
    quiet: z.boolean().default(false),
    tracking: jsonObjectFlag(),
  }),
  help: {
    out: { arg: 'DIR', help: 'where it goes' },
    maxDepth: { arg: 'M', help: 'ignore depth beyond' },
    frames: { help: 'stop after N frames' },
    mode: { help: 'which pipeline' },
    quiet: { help: 'no progress line' },
    tracking: { arg: 'JSON', help: 'tracking options' },
  },
} satisfies Command;

const fails = (argv: string[]): string => {
  try {
    parseCommand(cmd, argv);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`no usage error for ${argv.join(' ')}`);
};

describe('the command-line parser', () => {
  test('kebab-case flags fill camelCase keys, values take their schema\'s type, defaults come from the schema', () => {
    const p = parseCommand(cmd, ['in.txt', '--out', 'o', '--max-depth=2.5', '--quiet', '--frames', '12', '--tracking', '{"downsample":0}']);
    expect(p).toEqual({ values: { out: 'o', maxDepth: 2.5, frames: 12, mode: 'rgbd', quiet: true, tracking: { downsample: 0 } }, positionals: ['in.txt'] });
    expect(parseCommand(cmd, ['--out', 'o', 'x', '--mode', 'mono'])?.values).toMatchObject({ maxDepth: 4, mode: 'mono', quiet: false });
    expect(parseCommand(cmd, ['x', '--help'])).toBeNull();
  });

  test('usage errors name the flag, what it must be and the value given', () => {
    expect(fails(['x'])).toBe('--out is required');
    expect(fails(['x', '--out', 'o', '--max-depth', 'deep'])).toBe("--max-depth must be a number, got 'deep'");
    expect(fails(['x', '--out', 'o', '--max-depth', '0'])).toBe("--max-depth must be > 0, got '0'");
    expect(fails(['x', '--out', 'o', '--frames', '1.5'])).toBe("--frames must be an integer, got '1.5'");
    expect(fails(['x', '--out', 'o', '--mode', 'stereo'])).toBe("--mode must be rgbd or mono, got 'stereo'");
    expect(fails(['x', '--out', 'o', '--tracking', '{nope'])).toMatch(/^--tracking must be JSON \(/);
    expect(fails(['x', '--out', 'o', '--fast'])).toBe("unknown option '--fast'");
    expect(fails(['x', '--out'])).toBe('--out needs a value');
    expect(fails(['x', '--quiet=yes', '--out', 'o'])).toBe('--quiet takes no value');
    expect(fails(['--out', 'o'])).toBe('expected the input file (IN)');
  });

  test('options a flag carries are checked against their schema, each issue named', () => {
    expect(() => checkOptions(TrackingOptionsSchema, { pyramidLevels: 9, icpEpsilon: -1 }, '--tracking'))
      .toThrow('bad --tracking options: pyramidLevels must be ≤ 5; icpEpsilon must be > 0');
    expect(checkOptions(TrackingOptionsSchema, { downsample: 0 }, '--tracking').downsample).toBe(0);
  });

  test('the help is generated from the schema: required flags in the usage line, choices, defaults', () => {
    const text = usage(cmd);
    expect(text.split('\n')[0]).toBe('usage: scanstream try IN --out DIR [options]');
    expect(text).toContain('--max-depth M');
    expect(text).toContain('ignore depth beyond (default 4)');
    expect(text).toContain('--mode rgbd|mono');
    expect(text).toContain('which pipeline (default rgbd)');
    expect(text).toMatch(/--quiet +no progress line\n/);
  });
});
