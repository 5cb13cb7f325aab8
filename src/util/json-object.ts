// A parsed JSON value read as an object: what every codec does with the bodies and events it is given.

export type Obj = Record<string, unknown>;

/** A JSON object (not an array, not null). */
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
