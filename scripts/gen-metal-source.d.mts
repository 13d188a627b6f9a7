/** Types of scripts/gen-metal-source.mjs (the Metal source as one translation unit, and its Swift literal). */
export const metalDir: string;
export const swiftSourcePath: string;
export function metalSourceFiles(): string[];
export function abiTypesForMetal(headerText: string): string;
export function renderMetalSource(files?: string[]): { text: string; files: string[] };
export function renderSwift(text: string): string;
