/** Types of scripts/abi.mjs (the C ABI as data, read from scanstream.h). */
export interface AbiField { name: string; type: 'u32' | 'i32' | 'f32'; count: number }
export interface AbiKernel { name: string; symbol: string; buffers: { name: string; role: 'in' | 'out' | 'inout' }[]; fields: AbiField[] }
export interface AbiCoreFunction { name: string; returns: string; args: string[] }
export interface Abi { version: number; kernels: AbiKernel[]; constants: Record<string, number>; core: AbiCoreFunction[] }
export const root: string;
export const headerPath: string;
export const tsPath: string;
export const cudaUnsupportedPath: string;
export const cudaImplementedPath: string;
export function parseHeader(text: string): Abi;
export function readAbi(): Abi;
export function renderTs(abi: Abi): string;
export function renderCudaUnsupported(abi: Abi, implemented: Set<string>): string;
export function readCudaImplemented(): Set<string>;
export const metalUnsupportedPath: string;
export const metalImplementedPath: string;
export function renderMetalUnsupported(abi: Abi, implemented: Set<string>): string;
export function readMetalImplemented(): Set<string>;
export const metalEmuExportsPath: string;
export function renderMetalEmuExports(abi: Abi): string;
export function metalKernelsDefinedIn(texts: string[]): string[];
export function compareKernelLists(abi: Abi, lists: Record<string, Iterable<string>>): string[];
export function kernelsInTs(text: string): string[];
export function kernelsDefinedIn(texts: string[]): string[];
export const pythonAbiPath: string;
export function renderPython(abi: Abi): string;
/** ScanKit (swift/): the Swift package exporting the C ABI over Metal */
export interface CoreSignature { name: string; returns: string; params: { type: string; name: string }[] }
export interface SwiftExportSpec { symbol: string; params: { name: string; type: string }[]; returns: string; callee: string }
export const swiftExportsPath: string;
export const swiftHostDir: string;
export function parseCoreSignatures(text: string): CoreSignature[];
export function swiftTypeOf(ctype: string): string;
export function swiftExportSpecs(abi: Abi, signatures?: CoreSignature[]): SwiftExportSpec[];
export function renderSwiftExports(abi: Abi, signatures?: CoreSignature[]): string;
export function renderSwiftHostUnits(): [string, string][];
export function staleSwiftHostUnits(): string[];
