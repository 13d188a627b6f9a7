/** The element types the MASt3R API and its `.npy` files use. */
export type NumericArray = Float32Array | Float64Array | Int32Array | BigInt64Array;
export type DType = 'float32' | 'float64' | 'int32' | 'int64';

/** A dense C-order tensor: `data` holds prod(shape) elements. */
export interface NdArray<T extends NumericArray = NumericArray> {
  data: T;
  shape: readonly number[];
}

export function dtypeOf(data: NumericArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  return 'int64';
}

export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

export function shapeString(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export function ndarray<T extends NumericArray>(data: T, shape: number[]): NdArray<T> {
  if (data.length !== sizeOf(shape)) {
    throw new RangeError(`ndarray: ${data.length} elements do not fill shape ${shapeString(shape)}`);
  }
  return { data, shape };
}
