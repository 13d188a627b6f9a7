/** An input to a MASt3R kernel has the wrong dtype, rank, shape or values; raised before any native call. */
export class Mast3rInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Mast3rInputError';
  }
}
