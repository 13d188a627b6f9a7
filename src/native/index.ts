export { NativeContext, defaultContext, type ContextOptions } from './context';
export { NativeBuffer } from './buffer';
export { defineArgs, ArgsStruct, type ArgsLayout, type ArgsValues } from './args';
export { NativeError, NativeLoadError, UseAfterDestroyError, Status } from './errors';
export { loadLibrary, libraryPath, resolveBackend, ABI_VERSION, projectRoot, type BackendName, type BackendChoice } from './library';
