/** zod-validate source options; a bad option is a SourceError saying which and what was expected. */
import type { z } from 'zod';
import { formatZodIssues } from '../config';
import { SourceError } from './errors';

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new SourceError(`invalid ${what} options: ${formatZodIssues(parsed.error, '(options)')}`);
}
