// POST /v1/images/generations (OpenAI API reference, "Create image"; openai-node src/resources/images.ts,
// ImagesResponse): `prompt` is required, `n` an integer from 1 to 10 (1 for dall-e-3), `model` defaults to dall-e-2
// and is counted in byModel. Each image is the same 1×1 PNG: as `b64_json` when response_format is "b64_json" or
// the model is a gpt-image-* one (those always answer base64, with token usage and their output fields), else as a
// `url` on the mock itself (GET /_mock/image.png, not counted in the stats). dall-e-3 adds a revised_prompt.
// `stream: true` (gpt-image partial images) is not mocked: 400. Knobs: the shared gate (gate.ts), malformedRate.

import type { Behavior } from './config.ts';
import type { Exchange } from './exchange.ts';
import { halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import type { Json } from './responses-input.ts';
import { bump } from './stats.ts';

/** A valid 1×1 RGBA PNG (signature, IHDR, IDAT, IEND, CRCs correct). */
export const PNG_BASE64 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
export const PNG = Buffer.from(PNG_BASE64, 'base64');
export const IMAGE_PATH = '/_mock/image.png';

export function respondImages(host: SurfaceHost, ex: Exchange, b: Behavior, body: Json): void {
  const model = body.model ?? 'dall-e-2';
  if (typeof model !== 'string' || model === '') return ex.json(400, invalidRequest("Invalid 'model': expected a string.", 'invalid_value', 'model'));
  bump(host.counters.byModel, model);
  if (typeof body.prompt !== 'string' || body.prompt === '') return ex.json(400, invalidRequest("Missing required parameter: 'prompt'.", 'missing_required_parameter', 'prompt'));
  const n = body.n ?? 1;
  const maxN = model === 'dall-e-3' ? 1 : 10;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > maxN) {
    return ex.json(400, invalidRequest(`Invalid 'n': must be an integer from 1 to ${maxN} for ${model}.`, 'invalid_value', 'n'));
  }
  const format = body.response_format ?? 'url';
  if (format !== 'url' && format !== 'b64_json') return ex.json(400, invalidRequest(`Invalid value: '${String(format)}'. Supported values are: 'url' and 'b64_json'.`, 'invalid_value', 'response_format'));
  if (body.stream === true) return ex.json(400, invalidRequest('Streaming image generation is not supported by the mock.', 'unsupported_value', 'stream'));

  const malformed = rollFault(host, ex, b);
  if (malformed === null) return;
  const seq = host.nextSeq();
  const gptImage = model.startsWith('gpt-image') || model.startsWith('chatgpt-image');
  const base64 = gptImage || format === 'b64_json';
  const data = Array.from({ length: n }, (_, i): Json => {
    const image: Json = base64 ? { b64_json: PNG_BASE64 } : { url: `${host.url}${IMAGE_PATH}?id=img-mock-${seq}-${i}` };
    if (model === 'dall-e-3') image.revised_prompt = body.prompt;
    return image;
  });
  const out: Json = { created: Math.floor(Date.now() / 1000), data };
  if (gptImage) {
    const text = Math.ceil((body.prompt as string).length / 4);
    Object.assign(out, {
      background: 'opaque',
      output_format: 'png',
      quality: 'low',
      size: '1024x1024',
      usage: { input_tokens: text, input_tokens_details: { image_tokens: 0, text_tokens: text }, output_tokens: 272 * n, total_tokens: text + 272 * n },
    });
  }
  const text = JSON.stringify(out);
  ex.json(200, malformed ? halve(text) : text);
}
