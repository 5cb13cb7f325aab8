// POST /v1/moderations (OpenAI API reference, "Create moderation"; openai-node src/resources/moderations.ts):
// `input` is a string, an array of strings (one result each) or an array of multi-modal parts {type:"text", text} /
// {type:"image_url", image_url:{url}} (one result for all of them); `model` defaults to omni-moderation-latest and is
// counted in byModel. An input whose text contains "kill" (any case) is flagged for violence; everything else is
// clean. Knobs: the shared gate (gate.ts) and malformedRate (a truncated body).

import type { Behavior } from './config.ts';
import type { Exchange } from './exchange.ts';
import { halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import { isObject } from './responses-input.ts';
import type { Json } from './responses-input.ts';
import { bump } from './stats.ts';

const CATEGORIES = [
  'harassment', 'harassment/threatening', 'hate', 'hate/threatening', 'illicit', 'illicit/violent', 'self-harm',
  'self-harm/intent', 'self-harm/instructions', 'sexual', 'sexual/minors', 'violence', 'violence/graphic',
] as const;
/** The categories omni-moderation also scores images for. */
const IMAGE_CATEGORIES = new Set(['self-harm', 'self-harm/intent', 'self-harm/instructions', 'sexual', 'violence', 'violence/graphic']);
const BAD_INPUT = invalidRequest(
  "Invalid 'input': expected a non-empty string, an array of strings, or an array of {type: 'text'|'image_url'} objects.",
  'invalid_value',
  'input',
);

interface Item {
  text: string;
  images: number;
}

function items(input: unknown): Item[] | null {
  if (typeof input === 'string') return [{ text: input, images: 0 }];
  if (!Array.isArray(input) || input.length === 0) return null;
  if (input.every((x) => typeof x === 'string')) return (input as string[]).map((text) => ({ text, images: 0 }));
  const one: Item = { text: '', images: 0 };
  for (const part of input) {
    if (!isObject(part)) return null;
    if (part.type === 'text' && typeof part.text === 'string') one.text += (one.text === '' ? '' : ' ') + part.text;
    else if (part.type === 'image_url' && isObject(part.image_url) && typeof part.image_url.url === 'string') one.images++;
    else return null;
  }
  return [one];
}

function result(item: Item): Json {
  const flagged = /kill/i.test(item.text);
  const categories: Json = {};
  const scores: Json = {};
  const applied: Json = {};
  for (const c of CATEGORIES) {
    const hit = flagged && c === 'violence';
    categories[c] = hit;
    scores[c] = hit ? 0.9731 : 0.0001;
    const types: string[] = [];
    if (item.text !== '') types.push('text');
    if (item.images > 0 && IMAGE_CATEGORIES.has(c)) types.push('image');
    applied[c] = types;
  }
  return { flagged, categories, category_scores: scores, category_applied_input_types: applied };
}

export function respondModerations(host: SurfaceHost, ex: Exchange, b: Behavior, body: Json): void {
  const model = body.model ?? 'omni-moderation-latest';
  if (typeof model !== 'string' || model === '') return ex.json(400, invalidRequest("Invalid 'model': expected a string.", 'invalid_value', 'model'));
  bump(host.counters.byModel, model);
  const inputs = items(body.input);
  if (inputs === null) return ex.json(400, BAD_INPUT);
  const malformed = rollFault(host, ex, b);
  if (malformed === null) return;
  const out = JSON.stringify({ id: `modr-mock-${host.nextSeq()}`, model, results: inputs.map(result) });
  ex.json(200, malformed ? halve(out) : out);
}
