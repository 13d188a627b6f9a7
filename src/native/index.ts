export { NativeContext, defaultContext, envBackendChoice, type ContextOptions, type KernelPlacement, type FallbackStats, type NativeRunReport } from './context';
export { NativeBuffer } from './buffer';
export { ArgsStruct, kernelSpec, type ArgsLayout, type ArgsValues, type KernelSymbol, type KernelArgs, type KernelBuffers } from './args';
export { NativeError, NativeLoadError, UseAfterDestroyError, Status } from './errors';
export {
  loadLibrary, libraryPath, libraryFor, resolveBackend, ABI_VERSION, projectRoot, backendNames, backendChoices, isBackendChoice,
  type BackendName, type BackendChoice,
} from './library';
