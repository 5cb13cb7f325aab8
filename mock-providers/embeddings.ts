// Fake embeddings: deterministic unit vectors derived from a hash of each input, so the same text always
// embeds the same way (tests can compare vectors) without any model.

import { mulberry32 } from '../src/util/prng.ts';

export type EmbeddingInput = string | number[];

/** Normalises the four accepted shapes of `input` (string, string[], token array, token arrays), or null. */
export function embeddingInputs(input: unknown): EmbeddingInput[] | null {
  if (typeof input === 'string') return [input];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((x) => typeof x === 'number')) return [input as number[]];
  const isItem = (x: unknown) => typeof x === 'string' || (Array.isArray(x) && x.every((y) => typeof y === 'number'));
  return input.every(isItem) ? (input as EmbeddingInput[]) : null;
}

/** FNV-1a over the characters or tokens. */
function hash(item: EmbeddingInput): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < item.length; i++) {
    h = Math.imul(h ^ (typeof item === 'string' ? item.charCodeAt(i) : item[i]! | 0), 0x01000193);
  }
  return h >>> 0;
}

/** Unit length, as OpenAI's embeddings are; 6 decimals keep bodies short. */
function values(item: EmbeddingInput, dims: number): number[] {
  const rng = mulberry32(hash(item));
  const v = Array.from({ length: dims }, () => rng() * 2 - 1);
  const norm = Math.sqrt(v.reduce((sum, x) => sum + x * x, 0)) || 1;
  return v.map((x) => Math.round((x / norm) * 1e6) / 1e6);
}

export function vector(item: EmbeddingInput, dims: number): string {
  return values(item, dims).join(',');
}

/** `encoding_format: "base64"`: the vector as base64 of little-endian float32, a JSON string. The openai SDK asks
 *  for this by default and decodes it (openai-node PR #1312): a float array there decodes to garbage. */
function base64Vector(item: EmbeddingInput, dims: number): string {
  const f = Float32Array.from(values(item, dims));
  return `"${Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64')}"`;
}

/** `model` is already a JSON string literal. Tokens: a quarter of the characters, or the token count. */
export function embeddingsBody(model: string, items: EmbeddingInput[], dims: number, base64 = false): string {
  let tokens = 0;
  const data = items.map((item, i) => {
    tokens += typeof item === 'string' ? Math.ceil(item.length / 4) : item.length;
    const embedding = base64 ? base64Vector(item, dims) : `[${vector(item, dims)}]`;
    return `{"object":"embedding","index":${i},"embedding":${embedding}}`;
  });
  return `{"object":"list","data":[${data.join(',')}],"model":${model},"usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`;
}
