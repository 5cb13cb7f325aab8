// The conformance suite of the wire formats: every codec and dialect against recorded fixtures
// (test/fixtures/conformance/, written from the providers' documentation by someone who had not seen
// the code), plus a differential check that an OpenAI answer decoded and encoded again is the answer
// the pass-through would have relayed.
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FORMATS } from '../../src/formats/index.ts';
import type { CanonicalField, CanonicalRequest } from '../../src/formats/canonical.ts';
import type { ProviderOptions } from '../../src/formats/format.ts';
type FormatName = 'openai' | 'anthropic';
import { StreamTranslation } from '../../src/formats/stream-translation.ts';
import { streamError } from '../../src/formats/errors.ts';
import { isGatewayError } from '../../src/errors/gateway-error.ts';

const ROOT = resolve(import.meta.dirname, '../fixtures/conformance/anthropic');
type Json = any;

function cases(folder: string): Array<[string, Json]> {
  return readdirSync(join(ROOT, folder))
    .filter((f) => f.endsWith('.json'))
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(ROOT, folder, f), 'utf8'))]);
}

/** Deep equality where "{{any}}" in `want` matches any value, or none. */
function matches(got: unknown, want: unknown, path = '$'): string[] {
  if (want === '{{any}}') return [];
  if (Array.isArray(want)) {
    if (!Array.isArray(got) || got.length !== want.length) return [`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`];
    return want.flatMap((w, i) => matches(got[i], w, `${path}[${i}]`));
  }
  if (typeof want === 'object' && want !== null) {
    if (typeof got !== 'object' || got === null || Array.isArray(got)) return [`${path}: expected an object, got ${JSON.stringify(got)}`];
    const g = got as Record<string, unknown>;
    const w = want as Record<string, unknown>;
    const out: string[] = [];
    for (const k of new Set([...Object.keys(g), ...Object.keys(w)])) {
      if (!(k in w)) out.push(`${path}.${k}: not expected, got ${JSON.stringify(g[k])}`);
      else if (!(k in g) && w[k] !== '{{any}}') out.push(`${path}.${k}: missing, expected ${JSON.stringify(w[k])}`);
      else out.push(...matches(g[k], w[k], `${path}.${k}`));
    }
    return out;
  }
  return Object.is(got, want) ? [] : [`${path}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`];
}

function expectMatch(got: unknown, want: unknown): void {
  const diffs = matches(got, want);
  if (diffs.length > 0) expect.fail(`${diffs.join('\n')}\n\ngot: ${JSON.stringify(got, null, 1)}`);
}

/**
 * A request through the client's dialect and the provider's codec, as the gateway sends it. A fixture's
 * optional `dropped` lists what x-microgate-dropped names for it: the fields the dialect had no place
 * for, then those the codec left out, in the client's words.
 */
function translateRequest(from: FormatName, to: FormatName, body: Json, codec = FORMATS[to].codec, model: string = body.model, dropped?: string[], opts?: ProviderOptions): Json {
  const dialect = FORMATS[from].dialect;
  const canonical = dialect.toCanonical(body, 'chat');
  const left: CanonicalField[] = [];
  const out = JSON.parse(codec.fromCanonical(canonical, model, left, opts));
  if (dropped !== undefined) expect([...canonical.dropped, ...left.map((f) => dialect.fieldName(f))]).toEqual(dropped);
  return out;
}

function expectRefusal(fn: () => unknown, want: { status: number; param: string }): void {
  try {
    fn();
  } catch (err) {
    expect(isGatewayError(err)).toBe(true);
    expect({ status: (err as { status: number }).status, param: (err as { param: string }).param }).toEqual(want);
    return;
  }
  expect.fail('expected the request to be refused');
}

/** Streams a provider's events (as SSE text, one event per push) to the client's dialect; returns the client's events. */
function translateStream(from: FormatName, to: FormatName, req: CanonicalRequest, sse: string[]): { events: Array<{ event: string; data: string }>; error: Json | null } {
  const t = new StreamTranslation(FORMATS[from].codec.streamDecoder(req), FORMATS[to].dialect.streamEncoder(req));
  let out = '';
  let error: Json | null = null;
  for (const e of sse) {
    out += t.push(e);
    if (t.error !== null) {
      const err = streamError(from, 'p', t.error.errorType, t.error.message);
      out += FORMATS[to].dialect.renderStreamError(err);
      error = err;
      break;
    }
  }
  const events: Array<{ event: string; data: string }> = [];
  for (const block of out.split('\n\n').filter((b) => b !== '')) {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? '';
    const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
    events.push({ event, data });
  }
  return { events, error };
}

const minimalRequest = (over: Partial<CanonicalRequest> = {}): CanonicalRequest => ({
  model: 'm',
  system: null,
  messages: [],
  maxTokens: null,
  temperature: null,
  topP: null,
  topK: null,
  stop: null,
  stream: true,
  includeUsage: false,
  tools: null,
  toolChoice: null,
  parallelToolCalls: null,
  jsonSchema: null,
  jsonObject: false,
  thinking: null,
  user: null,
  dropped: [],
  ...over,
});

describe('OpenAI client → Anthropic provider: requests', () => {
  it.each(cases('openai-to-anthropic-request'))('%s', (_name, fx) => {
    if (fx.error !== undefined) expectRefusal(() => translateRequest('openai', 'anthropic', fx.openai), fx.error);
    else expectMatch(translateRequest('openai', 'anthropic', fx.openai, undefined, undefined, fx.dropped), fx.anthropic);
  });
});

describe('Anthropic provider → OpenAI client: answers', () => {
  it.each(cases('anthropic-to-openai-response'))('%s', (_name, fx) => {
    const answer = FORMATS.anthropic.codec.toCanonicalResponse(Buffer.from(JSON.stringify(fx.anthropic)));
    expectMatch(JSON.parse(FORMATS.openai.dialect.renderResponse(answer)), fx.openai);
  });
});

describe('Anthropic provider → OpenAI client: streams', () => {
  it.each(cases('anthropic-to-openai-stream'))('%s', (_name, fx) => {
    const sse = (fx.events as Json[]).map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`);
    const { events, error } = translateStream('anthropic', 'openai', minimalRequest({ includeUsage: fx.include_usage }), sse);
    const chunks = events.map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data)));
    const want = fx.chunks as Json[];
    const last = want[want.length - 1];
    if (last !== '[DONE]' && last?.error !== undefined) {
      expect(error).not.toBeNull();
      const got = chunks.pop();
      expectMatch({ error: { type: got.error.type, code: got.error.code } }, last);
      want.pop();
    }
    // `usage: null` on ordinary chunks is allowed and left out of the expectations.
    for (const c of chunks) if (typeof c === 'object' && c.usage === null) delete c.usage;
    expectMatch(chunks, want);
  });
});

describe('Anthropic client → OpenAI provider: requests', () => {
  it.each(cases('anthropic-request-to-openai'))('%s', (_name, fx) => {
    if (fx.error !== undefined) expectRefusal(() => translateRequest('anthropic', 'openai', fx.anthropic), fx.error);
    else expectMatch(translateRequest('anthropic', 'openai', fx.anthropic, undefined, undefined, fx.dropped, fx.providerOptions), fx.openai);
  });
});

describe('OpenAI provider → Anthropic client: answers', () => {
  it.each(cases('openai-to-anthropic-response'))('%s', (_name, fx) => {
    const answer = FORMATS.openai.codec.toCanonicalResponse(Buffer.from(JSON.stringify(fx.openai)));
    expectMatch(JSON.parse(FORMATS.anthropic.dialect.renderResponse(answer)), fx.anthropic);
  });
});

describe('OpenAI provider → Anthropic client: streams', () => {
  it.each(cases('openai-to-anthropic-stream'))('%s', (_name, fx) => {
    const sse = (fx.chunks as Json[]).map((c) => `data: ${c === '[DONE]' ? '[DONE]' : JSON.stringify(c)}\n\n`);
    const { events } = translateStream('openai', 'anthropic', minimalRequest(), sse);
    expectMatch(
      events.map((e) => ({ event: e.event, data: JSON.parse(e.data) })),
      fx.events,
    );
  });
});

describe('message_start counts the prompt when the first chunk does', () => {
  it('a server reporting usage on every chunk (vLLM) gives message_start its input_tokens', () => {
    const chunk = (delta: Json, usage: Json) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }], usage })}\n\n`;
    const { events } = translateStream('openai', 'anthropic', minimalRequest(), [
      chunk({ role: 'assistant', content: '' }, { prompt_tokens: 42, completion_tokens: 0, total_tokens: 42 }),
      chunk({ content: 'Hi' }, { prompt_tokens: 42, completion_tokens: 1, total_tokens: 43 }),
      'data: [DONE]\n\n',
    ]);
    expect(JSON.parse(events[0]!.data).message.usage).toEqual({ input_tokens: 42, output_tokens: 0 });
  });
});

describe('differential: an OpenAI answer decoded and encoded again is what the pass-through relays', () => {
  const answers = cases('openai-to-anthropic-response').map(([n, fx]) => [n, fx.openai] as [string, Json]);
  /** OpenAI-only fields the canonical shape does not carry (no other format has them): left out of the comparison. */
  const OPENAI_ONLY = ['service_tier', 'system_fingerprint'];
  const OPENAI_ONLY_MESSAGE = ['annotations', 'audio'];
  const OPENAI_ONLY_USAGE = ['completion_tokens_details'];

  it.each(answers)('%s', (_name, original) => {
    const again = JSON.parse(FORMATS.openai.dialect.renderResponse(FORMATS.openai.codec.toCanonicalResponse(Buffer.from(JSON.stringify(original)))));
    const want = structuredClone(original);
    want.created = '{{any}}';
    for (const k of OPENAI_ONLY) delete want[k];
    for (const c of want.choices) {
      for (const k of OPENAI_ONLY_MESSAGE) delete c.message[k];
      c.logprobs ??= null;
      c.message.refusal ??= null;
      if (c.message.content === '') c.message.content = null;
      // On purpose: a turn with tool calls ends as a tool turn, and a call without arguments has "{}".
      // Arguments are compared as JSON values: the canonical shape holds them as an object (Anthropic's
      // `input`), so their spacing is the encoder's.
      if (c.message.tool_calls?.length > 0) {
        c.finish_reason = 'tool_calls';
        for (const t of c.message.tool_calls) t.function.arguments = JSON.stringify(JSON.parse(t.function.arguments || '{}'));
      }
    }
    if (want.usage !== undefined) {
      for (const k of OPENAI_ONLY_USAGE) delete want.usage[k];
      want.usage.prompt_tokens_details = { cached_tokens: want.usage.prompt_tokens_details?.cached_tokens ?? 0 };
    }
    expectMatch(again, want);
  });

  it.each(cases('openai-to-anthropic-stream'))('stream %s', (_name, fx) => {
    const sse = (fx.chunks as Json[]).map((c) => `data: ${c === '[DONE]' ? '[DONE]' : JSON.stringify(c)}\n\n`);
    const hasUsage = (fx.chunks as Json[]).some((c) => c !== '[DONE]' && c.usage != null);
    const { events } = translateStream('openai', 'openai', minimalRequest({ includeUsage: hasUsage }), sse);
    const text = (chunks: Json[]) => chunks.filter((c) => c !== '[DONE]' && c.choices?.[0]?.delta?.content).map((c) => c.choices[0].delta.content).join('');
    // Each call as id:name:arguments, in order: a fragment with an id starts a call, one without adds to
    // the last call at its index (the encoder numbers calls afresh; a provider may reuse index 0).
    const args = (chunks: Json[]) => {
      const calls: { index: number; id: string; name: string; args: string }[] = [];
      for (const c of chunks.filter((c) => c !== '[DONE]')) {
        for (const t of c.choices?.[0]?.delta?.tool_calls ?? []) {
          if (t.id !== undefined) calls.push({ index: t.index, id: t.id, name: t.function?.name ?? '', args: t.function?.arguments ?? '' });
          else calls.findLast((x) => x.index === t.index)!.args += t.function?.arguments ?? '';
        }
      }
      return calls.map((x) => `${x.id}:${x.name}:${x.args}`).join('|');
    };
    const finish = (chunks: Json[]) => chunks.filter((c) => c !== '[DONE]').map((c) => c.choices?.[0]?.finish_reason).filter((f) => f != null);
    const got = events.map((e) => (e.data === '[DONE]' ? '[DONE]' : JSON.parse(e.data)));
    expect(text(got)).toBe(text(fx.chunks));
    expect(args(got).replaceAll(':{}', ':')).toBe(args(fx.chunks).replaceAll(':{}', ':'));
    const wantFinish = finish(fx.chunks).map((f: string) => (f === 'stop' && args(fx.chunks) !== '' ? 'tool_calls' : f));
    expect(finish(got)).toEqual(wantFinish);
    expect(got[got.length - 1]).toBe('[DONE]');
    if (hasUsage) expect(got.find((c) => c !== '[DONE]' && c.usage != null)?.usage.prompt_tokens).toBe((fx.chunks as Json[]).find((c) => c !== '[DONE]' && c.usage != null).usage.prompt_tokens);
  });
});

describe('a translated stream split at every byte offset', () => {
  // Whole events are cut by the framer before translation: any split of the provider's bytes, even
  // inside a multi-byte character, gives the client the same events.
  const fx = JSON.parse(readFileSync(join(ROOT, 'anthropic-to-openai-stream/text-and-two-tools-tool-index-not-block-index.json'), 'utf8'));
  const events = [...(fx.events as Json[])];
  events.splice(3, 0, { event: 'content_block_delta', data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ' héllo 👋 wörld' } } }, { event: 'ping', data: { type: 'ping' } });
  const wire = Buffer.from(events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join(''), 'utf8');

  async function run(parts: Buffer[]): Promise<string> {
    const { SseFramer } = await import('../../src/util/sse-framer.ts');
    const req = minimalRequest({ includeUsage: true });
    const t = new StreamTranslation(FORMATS.anthropic.codec.streamDecoder(req), FORMATS.openai.dialect.streamEncoder(req));
    const framer = new SseFramer();
    let out = '';
    for (const p of parts) {
      const whole = framer.push(p);
      if (whole !== null) out += t.push(whole.toString('utf8'));
    }
    expect(framer.pending).toBe(0);
    expect(t.ended).toBe(true);
    return out.replace(/"created":\d+/g, '"created":0');
  }

  it('every 2-way split gives the unsplit output', async () => {
    const whole = await run([wire]);
    expect(whole).toContain('héllo 👋 wörld');
    for (let k = 1; k < wire.length; k++) {
      const got = await run([wire.subarray(0, k), wire.subarray(k)]);
      if (got !== whole) expect(got, `split at ${k}`).toBe(whole);
    }
  });
});

// ─── Gemini and Bedrock: codecs only (no client speaks them) ──────────────────────────────────────

describe('providers of other formats', async () => {
  const { CODECS } = await import('../../src/formats/index.ts');
  const { ENDPOINTS } = await import('../../src/endpoints/index.ts');
  const { EXCEPTION } = await import('../../src/formats/bedrock/stream.ts');
  type Provider = 'gemini' | 'bedrock';
  const base = { gemini: 'https://generativelanguage.googleapis.com/v1beta', bedrock: 'https://bedrock-runtime.us-east-1.amazonaws.com' } as const;
  const prefix = { gemini: '/v1beta/', bedrock: '/' } as const;
  const pathOf = (p: Provider, kind: 'chat' | 'embeddings' | 'count_tokens', model: string, stream: boolean) =>
    ENDPOINTS[p]({ url: new URL(base[p]), region: 'us-east-1', apiVersion: null, deployments: {} })
      .path(kind, model, stream)
      .slice(prefix[p].length);
  const dir = (p: Provider, folder: string) => {
    const d = resolve(import.meta.dirname, `../fixtures/conformance/${p}/${folder}`);
    return readdirSync(d).map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(d, f), 'utf8'))] as [string, Json]);
  };

  for (const p of ['gemini', 'bedrock'] as const) {
    for (const from of ['openai', 'anthropic'] as const) {
      describe(`${from} client → ${p}: requests`, () => {
        it.each(dir(p, `${from}-to-${p}-request`))('%s', (_name, fx) => {
          const body = fx[from];
          const model = p === 'bedrock' ? fx.modelId : body.model;
          const make = () => translateRequest(from, from, { ...body, model }, CODECS[p], model, fx.dropped);
          if (fx.error !== undefined) {
            expectRefusal(make, fx.error);
            return;
          }
          expectMatch(make(), fx[p]);
          if (fx.path !== undefined) expect(pathOf(p, 'chat', model, body.stream === true)).toBe(fx.path);
        });
      });
    }

    describe(`Anthropic count_tokens → ${p}: request and count`, () => {
      it.each(dir(p, `anthropic-to-${p}-count-tokens`))('%s', (_name, fx) => {
        const model = p === 'bedrock' ? fx.modelId : fx.anthropic.model;
        const dialect = FORMATS.anthropic.dialect;
        expect(dialect.check(fx.anthropic, 'count_tokens').stream).toBe(false);
        const made = JSON.parse(CODECS[p].countTokensFromCanonical!(dialect.toCanonical(fx.anthropic, 'count_tokens'), model));
        // InvokeModel's body is a blob (base64 on the JSON wire): the fixtures hold it decoded.
        const invoke = made.input?.invokeModel;
        if (typeof invoke?.body === 'string') invoke.body = JSON.parse(Buffer.from(invoke.body, 'base64').toString('utf8'));
        expectMatch(made, fx[p]);
        expect(pathOf(p, 'count_tokens', model, false)).toBe(fx.path);
        const read = () => dialect.renderTokenCount!(CODECS[p].tokenCountOf!(Buffer.from(JSON.stringify(fx.answer))));
        if (fx.error !== undefined) expect(read).toThrow(expect.objectContaining({ code: fx.error.code }));
        else expect(JSON.parse(read())).toEqual(fx.anthropicAnswer);
      });
    });

    describe(`${p} → OpenAI client: answers`, () => {
      it.each(dir(p, `${p}-to-openai-response`))('%s', (_name, fx) => {
        const read = () => CODECS[p].toCanonicalResponse(Buffer.from(JSON.stringify(fx[p])));
        if (fx.error !== undefined) {
          expectRefusal(read, { status: fx.error.status, param: null as unknown as string });
          expect(() => read()).toThrow(expect.objectContaining({ code: fx.error.code }));
          return;
        }
        const answer = read();
        // As the attempt does: Converse names neither the answer nor its model.
        if (answer.id === '') answer.id = 'gen-test';
        if (answer.model === '') answer.model = fx.modelId;
        expectMatch(JSON.parse(FORMATS.openai.dialect.renderResponse(answer)), fx.openai);
      });
    });

    describe(`${p} → OpenAI client: streams`, () => {
      it.each(dir(p, `${p}-to-openai-stream`))('%s', (_name, fx) => {
        const req = minimalRequest({ includeUsage: fx.include_usage });
        const t = new StreamTranslation(CODECS[p].streamDecoder(req), FORMATS.openai.dialect.streamEncoder(req), { id: 'gen-test', model: fx.modelId ?? '' });
        let out = '';
        for (const e of fx.events as Json[]) {
          if (p === 'gemini') out += t.push(`data: ${JSON.stringify(e)}\n\n`);
          else out += e.exceptionType !== undefined ? t.pushEvent(EXCEPTION + e.exceptionType, JSON.stringify(e.payload)) : t.pushEvent(e.eventType, JSON.stringify(e.payload));
          if (t.error !== null) break;
        }
        if (t.error === null) out += t.close();
        const chunks: Json[] = out.split('\n\n').filter((b) => b !== '').map((b) => (b === 'data: [DONE]' ? '[DONE]' : JSON.parse(b.slice(6))));
        for (const c of chunks) if (typeof c === 'object' && c.usage === null) delete c.usage;
        const want = [...(fx.chunks as Json[])];
        const last = want[want.length - 1];
        if (last !== '[DONE]' && last?.error !== undefined) {
          want.pop();
          // The stream's end as the attempt reports it: the provider's error, or a cut.
          const code = t.error !== null ? (JSON.parse(FORMATS.openai.dialect.renderStreamError(streamError(p, 'p', t.error.errorType, t.error.message)).slice(6)) as Json).error.code : t.ended ? 'none' : 'upstream_reset';
          expect(code).toBe(last.error.code);
        } else expect(t.ended).toBe(true);
        expectMatch(chunks, want);
      });
    });
  }

  describe('OpenAI embeddings → Gemini', () => {
    it.each(dir('gemini', 'openai-to-gemini-embeddings'))('%s', (_name, fx) => {
      const make = () => FORMATS.openai.dialect.embeddingsToCanonical!(fx.openai);
      if (fx.error !== undefined) {
        expectRefusal(make, fx.error);
        return;
      }
      const req = make();
      expectMatch(JSON.parse(CODECS.gemini.embeddingsFromCanonical!(req, fx.openai.model)), fx.gemini);
      expect(pathOf('gemini', 'embeddings', fx.openai.model, false)).toBe(fx.path);
      const answer = CODECS.gemini.embeddingsToCanonical!(Buffer.from(JSON.stringify(fx.geminiResponse)), req);
      expectMatch(JSON.parse(FORMATS.openai.dialect.renderEmbeddings!(answer, req)), fx.openaiResponse);
    });
  });
});
