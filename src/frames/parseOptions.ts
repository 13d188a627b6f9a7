/** zod-validate source options; a bad option is a SourceError saying which and what was expected. */
import type { z } from 'zod';
import { SourceError } from './errors';

export function parseOptions<S extends z.ZodType>(schema: S, input: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
  throw new SourceError(`invalid ${what} options: ${issues}`);
}
