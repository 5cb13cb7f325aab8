// Pure builders of OpenAI wire bodies and SSE events. Bodies are concatenated from pieces built once
// (per config, status or size), because JSON.stringify of a whole response would dominate the mock's cost.

import { STATUS_CODES } from 'node:http';

const FILLER = 'The quick brown fox jumps over the lazy dog while the mock provider answers. ';

/** JSON string escaping without the quotes. */
const esc = (s: string): string => JSON.stringify(s).slice(1, -1);

/** Caches a pure builder by a small numeric key (a status, a size). */
function memo(build: (key: number) => string): (key: number) => string {
  const cache = new Map<number, string>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined) cache.set(key, (v = build(key)));
    return v;
  };
}

/** Per-config text. Content starts with "[name]" so a test behind a gateway can tell which mock answered. */
export class Texts {
  /** Escaped stream pieces, one "word " per content chunk. */
  readonly words: string[];
  /** Escaped non-stream content of about `bytes` characters. */
  readonly content: (bytes: number) => string;

  constructor(readonly name: string) {
    const head = `[${name}] `;
    this.words = [head, ...FILLER.trim().split(' ').map((w) => w + ' ')].map(esc);
    this.content = memo((bytes) => esc((head + FILLER.repeat(Math.ceil(bytes / FILLER.length))).slice(0, Math.max(bytes, head.length))));
  }
}

export const statusLine = memo((status) => `${status} ${STATUS_CODES[status] ?? 'Unknown'}`);

export function errorBody(message: string, type: string, code: string | null): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

/** The body of an injected error status, with the type and code OpenAI uses for that status class. */
export const faultBody = memo((status) =>
  status === 429
    ? errorBody('Rate limit reached for requests (mock).', 'rate_limit_exceeded', 'rate_limit_exceeded')
    : status >= 500
      ? errorBody(`The server had an error while processing your request (mock ${status}).`, 'server_error', 'server_error')
      : errorBody(`Injected error ${status} (mock).`, 'invalid_request_error', 'mock_error'),
);

function usage(prompt: number, completion: number): string {
  return `{"prompt_tokens":${prompt},"completion_tokens":${completion},"total_tokens":${prompt + completion}}`;
}

export type Kind = 'chat' | 'completions';

/** The wire pieces that differ between chat and legacy completions; `w` is escaped text. */
const SHAPES = {
  chat: {
    id: 'chatcmpl-mock-',
    object: 'chat.completion',
    chunkObject: 'chat.completion.chunk',
    choice: (w: string) => `{"index":0,"message":{"role":"assistant","content":"${w}"},"logprobs":null,"finish_reason":"stop"}`,
    // Chat streams open with a role-only delta; legacy streams have no such event.
    opening: ['{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}'],
    delta: (w: string) => `{"index":0,"delta":{"content":"${w}"},"logprobs":null,"finish_reason":null}`,
    stop: '{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}',
  },
  completions: {
    id: 'cmpl-mock-',
    object: 'text_completion',
    chunkObject: 'text_completion',
    choice: (w: string) => `{"text":"${w}","index":0,"logprobs":null,"finish_reason":"stop"}`,
    opening: [] as string[],
    delta: (w: string) => `{"text":"${w}","index":0,"logprobs":null,"finish_reason":null}`,
    stop: '{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}',
  },
};

/** Index of the first content event in streamEvents(). */
export const contentStart = (kind: Kind): number => SHAPES[kind].opening.length;

export interface CompletionSpec {
  kind: Kind;
  id: number;
  created: number;
  /** Already a JSON string literal (quoted and escaped). */
  model: string;
  promptTokens: number;
  /** Stream only: content chunks, and whether to add the usage chunk. */
  chunks: number;
  includeUsage: boolean;
}

/** `content` is escaped; completion tokens are a quarter of its characters. */
export function completion(spec: CompletionSpec, content: string): string {
  const s = SHAPES[spec.kind];
  const usageJson = usage(spec.promptTokens, Math.ceil(content.length / 4));
  return `{"id":"${s.id}${spec.id}","object":"${s.object}","created":${spec.created},"model":${spec.model},"choices":[${s.choice(content)}],"usage":${usageJson}}`;
}

/** Every event of a stream in order, ending with [DONE]. With include_usage, OpenAI puts "usage":null on
 *  every chunk and adds a last chunk with empty choices and the usage. */
export function streamEvents(spec: CompletionSpec, texts: Texts): string[] {
  const s = SHAPES[spec.kind];
  const head = `data: {"id":"${s.id}${spec.id}","object":"${s.chunkObject}","created":${spec.created},"model":${spec.model},"choices":[`;
  const tail = spec.includeUsage ? '],"usage":null}\n\n' : ']}\n\n';
  const events = s.opening.map((choice) => head + choice + tail);
  const words = texts.words;
  for (let i = 0; i < spec.chunks; i++) events.push(head + s.delta(words[i % words.length]!) + tail);
  events.push(head + s.stop + tail);
  if (spec.includeUsage) events.push(`${head}],"usage":${usage(spec.promptTokens, spec.chunks)}}\n\n`);
  events.push('data: [DONE]\n\n');
  return events;
}

/** The opening events, then the first content event cut mid-JSON: a corrupted provider stream. */
export function brokenStream(events: string[], kind: Kind): string[] {
  const start = contentStart(kind);
  return [...events.slice(0, start), truncate(events[start] ?? '') + '\n\n'];
}

/** A valid body cut in half: unparsable JSON behind a 200. */
export function truncate(body: string): string {
  return body.slice(0, body.length >> 1);
}

/** Approximate prompt tokens: a quarter of the characters of the text (chat messages' content, string
 *  or text parts; legacy prompt, string or list). */
export function promptTokens(kind: Kind, body: Record<string, unknown>): number {
  let chars = 0;
  const add = (v: unknown): void => {
    if (typeof v === 'string') chars += v.length;
    else if (Array.isArray(v)) for (const x of v) add(typeof x === 'object' && x !== null ? (x as { text?: unknown }).text : x);
  };
  if (kind === 'completions') add(body.prompt);
  else if (Array.isArray(body.messages)) for (const m of body.messages) add((m as { content?: unknown } | null)?.content);
  return Math.ceil(chars / 4);
}

/** A fixed `created` so the models list is byte-identical across runs. */
const MODELS_CREATED = 1700000000;

export function modelsList(models: readonly string[], owner: string): string {
  return JSON.stringify({ object: 'list', data: models.map((id) => ({ id, object: 'model', created: MODELS_CREATED, owned_by: owner })) });
}
