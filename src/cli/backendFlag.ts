/** `--backend`, the same for every command. */
import { backendChoices, isBackendChoice, type BackendChoice } from '../native/library';

export const backendFlagUsage =
  `--backend B          ${backendChoices.join('|')} (default: SCANSTREAM_BACKEND, else auto: Metal on macOS, CUDA when built, else the CPU);\n` +
  '                       kernels the backend lacks run on the CPU (`scanstream backends` lists them)';

/** The checked --backend value (undefined: not given), or a message for a usage error. */
export function parseBackendFlag(value: string | undefined): { backend?: BackendChoice } | { error: string } {
  if (value === undefined) return {};
  if (!isBackendChoice(value)) return { error: `--backend must be ${backendChoices.join(', ')}; got '${value}'` };
  return { backend: value };
}

