// OpenAI /v1/embeddings ↔ the canonical embeddings, for a provider of another format (Gemini).
// https://platform.openai.com/docs/api-reference/embeddings
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CanonicalEmbeddings, CanonicalEmbeddingsRequest } from '../canonical.ts';

export function embeddingsToCanonical(b: Record<string, unknown>): CanonicalEmbeddingsRequest {
  const input = b.input;
  const inputs = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((x) => typeof x === 'string') ? (input as string[]) : null;
  // Token arrays are OpenAI's own tokenizer's ids: meaningless to another provider.
  if (inputs === null || inputs.length === 0) throw new GatewayError('invalid_parameter', "'input' must be a string or a non-empty array of strings for this provider.", { param: 'input' });
  const dims = b.dimensions;
  if (dims !== undefined && dims !== null && (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1)) throw new GatewayError('invalid_parameter', "'dimensions' must be a positive integer.", { param: 'dimensions' });
  return { model: b.model as string, inputs, dimensions: typeof dims === 'number' ? dims : null, base64: b.encoding_format === 'base64' };
}

/** A vector as OpenAI's base64 encoding: little-endian float32 bytes (what the SDK decodes). */
function base64Floats(v: number[]): string {
  const f = new Float32Array(v);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString('base64');
}

export function embeddingsFromCanonical(e: CanonicalEmbeddings, req: CanonicalEmbeddingsRequest): string {
  return JSON.stringify({
    object: 'list',
    data: e.vectors.map((v, index) => ({ object: 'embedding', index, embedding: req.base64 ? base64Floats(v) : v })),
    model: e.model,
    usage: { prompt_tokens: e.promptTokens, total_tokens: e.promptTokens },
  });
}
