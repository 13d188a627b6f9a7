/**
 * The one command-line parser. A command's flags are a zod object: the
 * schema gives each value its type, default and checks (options that exist
 * in src/config.ts reuse its fields, so a default lives in one place), and a
 * line of help per flag gives the --help text. argv is read as
 * `--name value`, `--name=value`, a bare `--name` for a boolean, `-h`/`--help`
 * and positionals; `--max-depth` fills the key `maxDepth`. A usage error is a
 * UsageError (exit code 2), named after the flag and the value given.
 */
import { z } from 'zod';
import { formatZodIssues } from '../config';
import { backendChoices } from '../native/library';

/** A command line that cannot run as given: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface FlagHelp {
  help: string;
  /** placeholder of the value in the help (default N for numbers, VALUE for text; choices list themselves) */
  arg?: string;
}

type FlagHelps<S extends z.ZodObject> = { [K in keyof S['shape']]: FlagHelp };

export interface Command<S extends z.ZodObject = z.ZodObject> {
  /** e.g. 'scanstream fuse' */
  name: string;
  /** paragraphs between the usage line and the options */
  about: string;
  flags: S;
  help: FlagHelps<S>;
  /** positional arguments, all required, e.g. ['A.npy', 'B.npy'], and what one is called in errors */
  positionals?: { names: readonly string[]; noun: string };
  /** lines after the options */
  footer?: string;
}

export interface Parsed<S extends z.ZodObject> {
  values: z.output<S>;
  positionals: string[];
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The value type a flag's schema takes at its root (through defaults, optionals and transforms). */
function baseOf(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (;;) {
    const def = s.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if ((def.type === 'default' || def.type === 'optional' || def.type === 'nullable') && def.innerType) s = def.innerType;
    else if (def.type === 'pipe' && def.in) s = def.in;
    else return s;
  }
}

function kindOf(schema: z.ZodType): 'boolean' | 'number' | 'text' {
  const t = baseOf(schema).def.type;
  return t === 'boolean' ? 'boolean' : t === 'number' ? 'number' : 'text';
}

function choicesOf(schema: z.ZodType): string[] | null {
  const base = baseOf(schema) as z.ZodType & { options?: readonly unknown[] };
  return base.def.type === 'enum' && base.options ? base.options.map(String) : null;
}

function defaultOf(schema: z.ZodType): unknown {
  let s = schema;
  for (;;) {
    const def = s.def as { type: string; innerType?: z.ZodType; defaultValue?: unknown };
    if (def.type === 'default') return def.defaultValue;
    if (def.type === 'optional' && def.innerType) s = def.innerType;
    else return undefined;
  }
}

const isRequired = (schema: z.ZodType): boolean => !schema.safeParse(undefined).success;

/** 'a', 'a or b', 'a, b or c' */
export function either(values: readonly string[]): string {
  return values.length < 2 ? (values[0] ?? '') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}

/** Messages for zod's own checks, in the words of a usage line (a schema's own message wins over these). */
const usageWords: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'must be an integer' : issue.expected === 'number' ? 'must be a number' : `must be ${issue.expected}`;
    case 'too_small':
      return issue.origin === 'number' ? `must be ${issue.inclusive ? '≥' : '>'} ${issue.minimum}` : `must have at least ${issue.minimum} ${issue.origin === 'string' ? 'characters' : 'items'}`;
    case 'too_big':
      return issue.origin === 'number' ? `must be ${issue.inclusive ? '≤' : '<'} ${issue.maximum}` : `must have at most ${issue.maximum} ${issue.origin === 'string' ? 'characters' : 'items'}`;
    case 'invalid_value':
      return `must be ${either(issue.values.map(String))}`;
    default:
      return undefined;
  }
};

interface Tokens {
  raw: Map<string, string | true>;
  positionals: string[];
  help: boolean;
}

function tokenize(argv: readonly string[], kinds: Map<string, 'boolean' | 'number' | 'text'>): Tokens {
  const raw = new Map<string, string | true>();
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg.length === 2) {
      if (arg.startsWith('-') && arg.length > 1 && Number.isNaN(Number(arg))) throw new UsageError(`unknown option '${arg}'`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = kinds.get(name);
    if (!kind) throw new UsageError(`unknown option '--${name}'`);
    if (kind === 'boolean') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      raw.set(name, true);
    } else if (eq >= 0) {
      raw.set(name, arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) throw new UsageError(`--${name} needs a value`);
      raw.set(name, value);
      i++;
    }
  }
  return { raw, positionals, help };
}

/** The values of a command's flags; null when --help was asked. Throws UsageError. */
export function parseCommand<S extends z.ZodObject>(cmd: Command<S>, argv: readonly string[]): Parsed<S> | null {
  const shape = cmd.flags.shape as Record<string, z.ZodType>;
  const keyOf = new Map<string, string>();
  const kinds = new Map<string, 'boolean' | 'number' | 'text'>();
  for (const [key, schema] of Object.entries(shape)) {
    keyOf.set(kebab(key), key);
    kinds.set(kebab(key), kindOf(schema));
  }
  const tokens = tokenize(argv, kinds);
  if (tokens.help) return null;
  const wanted = cmd.positionals?.names ?? [];
  if (tokens.positionals.length !== wanted.length) {
    const noun = cmd.positionals?.noun ?? 'argument';
    const got = tokens.positionals.length;
    throw new UsageError(wanted.length === 0 ? `unexpected argument '${tokens.positionals[0]}'`
      : wanted.length === 1 ? `expected the ${noun} (${wanted[0]})${got ? `, got ${got} arguments` : ''}`
      : `expected ${wanted.length} ${noun}(s) (${wanted.join(' ')}), got ${got}`);
  }
  const input: Record<string, unknown> = {};
  for (const [name, value] of tokens.raw) {
    const key = keyOf.get(name) as string;
    input[key] = value === true ? true : kinds.get(name) === 'number' ? (value.trim() === '' ? NaN : Number(value)) : value;
  }
  const missing = Object.keys(shape).filter((k) => input[k] === undefined && isRequired(shape[k] as z.ZodType));
  if (missing.length === 1) {
    const only = missing[0] as string, choices = choicesOf(shape[only] as z.ZodType);
    throw new UsageError(choices ? `--${kebab(only)} must be ${either(choices)} (required)` : `--${kebab(only)} is required`);
  }
  if (missing.length > 1) throw new UsageError(`${either(missing.map((k) => `--${kebab(k)}`))} are required`);
  const parsed = cmd.flags.safeParse(input, { error: usageWords });
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    const [key, ...inner] = issue.path.map(String);
    if (key === undefined) throw new UsageError(issue.message);
    const given = tokens.raw.get(kebab(key));
    const got = typeof given === 'string' ? `, got '${given}'` : '';
    throw new UsageError(inner.length > 0 ? `--${kebab(key)}: ${inner.join('.')} ${issue.message}` : `--${kebab(key)} ${issue.message}${got}`);
  }
  return { values: parsed.data, positionals: tokens.positionals };
}

/** Validates options a flag carries (a JSON object, merged with other flags) against their schema; throws UsageError. */
export function checkOptions<S extends z.ZodType>(schema: S, input: unknown, flag: string): z.output<S> {
  const parsed = schema.safeParse(input, { error: usageWords });
  if (!parsed.success) throw new UsageError(`bad ${flag} options: ${formatZodIssues(parsed.error, '(options)', ' ')}`);
  return parsed.data;
}

/** A flag whose value is a JSON object (options of a stage), checked later with checkOptions(). */
export function jsonObjectFlag(): z.ZodOptional<z.ZodPipe<z.ZodString, z.ZodTransform<Record<string, unknown>, string>>> {
  return z.string().transform((text, ctx): Record<string, unknown> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      ctx.addIssue({ code: 'custom', message: `must be JSON (${(e as Error).message})` });
      return z.NEVER;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object {…}' });
      return z.NEVER;
    }
    return value as Record<string, unknown>;
  }).optional();
}

/** --backend, the same on every command */
export const backendFlag = z.enum(backendChoices).optional();
export const backendHelp: FlagHelp = {
  help: 'where the kernels run (default: SCANSTREAM_BACKEND, else auto: Metal on macOS, CUDA when built, else the CPU);\n' +
    'kernels the backend lacks run on the CPU (`scanstream backends` lists them)',
};

function placeholder(schema: z.ZodType, help: FlagHelp): string {
  if (kindOf(schema) === 'boolean') return '';
  const choices = choicesOf(schema);
  return ` ${help.arg ?? (choices ? choices.join('|') : kindOf(schema) === 'number' ? 'N' : 'VALUE')}`;
}

/** The --help text: usage line, about, every flag with its default, footer. */
export function usage<S extends z.ZodObject>(cmd: Command<S>): string {
  const shape = cmd.flags.shape as Record<string, z.ZodType>;
  const helps = cmd.help as Record<string, FlagHelp>;
  const entries = Object.entries(shape);
  const required = entries.filter(([, s]) => isRequired(s)).map(([k, s]) => `--${kebab(k)}${placeholder(s, helps[k] as FlagHelp)}`);
  const synopsis = [cmd.name, ...(cmd.positionals?.names ?? []), ...required, ...(entries.length > required.length ? ['[options]'] : [])].join(' ');
  const rows = entries.map(([k, s]) => {
    const h = helps[k] as FlagHelp;
    const d = defaultOf(s);
    const shown = d === undefined || d === false || /default/.test(h.help) ? '' : ` (default ${Array.isArray(d) ? d.join(',') : String(d)})`;
    return [`--${kebab(k)}${placeholder(s, h)}`, `${h.help}${shown}`] as [string, string];
  });
  rows.push(['-h, --help', 'this help']);
  const width = Math.min(28, Math.max(...rows.map(([f]) => f.length)));
  const lines = rows.map(([f, h]) => {
    const text = h.replace(/\n/g, `\n${' '.repeat(width + 4)}`);
    return f.length > width ? `  ${f}\n${' '.repeat(width + 4)}${text}` : `  ${f.padEnd(width)}  ${text}`;
  });
  return [`usage: ${synopsis}`, '', cmd.about, '', 'options:', ...lines, ...(cmd.footer ? ['', cmd.footer] : [])].join('\n');
}

/**
 * Parses argv for `cmd` and runs `body` with the values: prints the help
 * (exit 0) or a usage error with the usage (exit 2); a UsageError thrown by
 * the body is reported the same way.
 */
export async function runCommand<S extends z.ZodObject>(cmd: Command<S>, argv: readonly string[],
  body: (values: z.output<S>, positionals: string[]) => number | Promise<number>): Promise<number> {
  try {
    const parsed = parseCommand(cmd, argv);
    if (!parsed) {
      console.log(usage(cmd));
      return 0;
    }
    return await body(parsed.values, parsed.positionals);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`${cmd.name}: ${e.message}\n\n${usage(cmd)}`);
    return 2;
  }
}
