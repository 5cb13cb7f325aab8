// The mock's Bedrock routes (/model/{modelId}/converse and /converse-stream), driven by the real
// @aws-sdk/client-bedrock-runtime: if the SDK's SigV4 signatures pass the mock's verification (and a wrong secret
// does not), if it decodes our binary event stream into its typed events, and raises its typed exceptions from our
// error headers and exception frames, a gateway tested against the mock meets the real wire.
//
// The SDK's default request handler is HTTP/2 (NodeHttp2Handler, for InvokeModelWithBidirectionalStream); uWS
// speaks HTTP/1.1 and the h2 preface just times out, so every client here passes `new NodeHttpHandler()`.

import {
  AccessDeniedException,
  BedrockRuntimeClient,
  BedrockRuntimeServiceException,
  ConverseCommand,
  ConverseStreamCommand,
  CountTokensCommand,
  InternalServerException,
  ModelErrorException,
  ModelStreamErrorException,
  ResourceNotFoundException,
  ServiceUnavailableException,
  ThrottlingException,
  ValidationException,
} from '@aws-sdk/client-bedrock-runtime';
import type { BedrockRuntimeClientConfig, ConverseCommandInput, ConverseStreamOutput, Tool } from '@aws-sdk/client-bedrock-runtime';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { SignatureV4 } from '@smithy/signature-v4';
import { Hash } from '@smithy/hash-node';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import aws4 from 'aws4';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMock } from '../../mock-providers/index.ts';
import type { MockHandle } from '../../mock-providers/index.ts';
import { failure, waitForStats } from '../helpers/waits.ts';

const MODEL = 'anthropic.claude-3-5-sonnet-20240620-v1:0';
const ENCODED = 'anthropic.claude-3-5-sonnet-20240620-v1%3A0';
const HELLO = 'Hello, mock! How are you?'; // 25 chars → 7 input tokens
const CREDS = { accessKeyId: 'AKIDMOCK', secretAccessKey: 'mock-secret' };
const user = (text: string) => ({ role: 'user' as const, content: [{ text }] });
const ASK: ConverseCommandInput = { modelId: MODEL, messages: [user(HELLO)] };

const WEATHER: Tool = {
  toolSpec: {
    name: 'get_weather',
    description: 'Weather for a city',
    inputSchema: {
      json: {
        type: 'object',
        properties: { city: { type: 'string' }, days: { type: 'integer' }, metric: { type: 'boolean' }, unit: { type: 'string', enum: ['c', 'f'] } },
        required: ['city'],
      },
    },
  },
};
const NOW: Tool = { toolSpec: { name: 'now', description: 'The time', inputSchema: { json: { type: 'object', properties: {} } } } };
const TOOLS = { tools: [WEATHER, NOW] };
const THINKING = { thinking: { type: 'enabled', budget_tokens: 1024 } };

/** Bytes that start like a PNG. */
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, ...new Array<number>(16).fill(0)]);

function client(m: MockHandle, opts: BedrockRuntimeClientConfig = {}): BedrockRuntimeClient {
  return new BedrockRuntimeClient({ endpoint: m.url, region: 'us-east-1', credentials: CREDS, requestHandler: new NodeHttpHandler(), maxAttempts: 1, ...opts });
}

/** Per-command x-mock-* headers, added at the build step: the SDK then signs them like any other header. */
type BuildArgs = { request: { headers: Record<string, string> } };
type BuildStack = { add(mw: (next: (a: BuildArgs) => Promise<unknown>) => (a: BuildArgs) => Promise<unknown>, opts: { step: 'build'; name: string }): void };

function knobs<C extends ConverseCommand | ConverseStreamCommand>(cmd: C, headers: Record<string, string>): C {
  (cmd.middlewareStack as unknown as BuildStack).add(
    (next) => (args) => {
      Object.assign(args.request.headers, headers);
      return next(args);
    },
    { step: 'build', name: 'mockKnobs' },
  );
  return cmd;
}

/** Iterates a ConverseStream; the events before a failure, and the failure. */
async function drain(stream: AsyncIterable<ConverseStreamOutput> | undefined): Promise<{ events: ConverseStreamOutput[]; error: any }> {
  const events: ConverseStreamOutput[] = [];
  try {
    for await (const e of stream!) events.push(e);
    return { events, error: null };
  } catch (error) {
    return { events, error };
  }
}

const names = (events: ConverseStreamOutput[]): string[] => events.map((e) => Object.keys(e).find((k) => (e as any)[k] !== undefined)!);
const textOf = (events: ConverseStreamOutput[]): string => events.map((e) => e.contentBlockDelta?.delta?.text ?? '').join('');

/** A raw request signed by `aws4` (the gateway's signer, src/endpoints/bedrock.ts), for what the SDK never sends. */
function signedFetch(m: MockHandle, path: string, body: string, opts: { secret?: string; date?: Date; doNotEncodePath?: boolean; send?: string; headers?: Record<string, string> } = {}) {
  const host = new URL(m.url).host;
  const req: any = { host, path, method: 'POST', service: 'bedrock', region: 'us-east-1', body, headers: { 'content-type': 'application/json', ...opts.headers }, doNotEncodePath: opts.doNotEncodePath };
  if (opts.date) req.headers['X-Amz-Date'] = opts.date.toISOString().replace(/[-:]|\.\d{3}/g, '');
  aws4.sign(req, { accessKeyId: CREDS.accessKeyId, secretAccessKey: opts.secret ?? CREDS.secretAccessKey });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers as Record<string, string>)) if (!/^(host|content-length)$/i.test(k)) headers[k] = String(v);
  return fetch(`${m.url}${path}`, { method: 'POST', headers, body: opts.send ?? body });
}

const codec = new EventStreamCodec(toUtf8, fromUtf8);

/** Splits an event-stream body at each message's total length and decodes it (CRCs checked by the codec). */
function frames(buf: Buffer): Array<{ headers: Record<string, string>; payload: any }> {
  const out: Array<{ headers: Record<string, string>; payload: any }> = [];
  for (let at = 0; at < buf.length; ) {
    const len = buf.readUInt32BE(at);
    const msg = codec.decode(buf.subarray(at, at + len));
    const headers = Object.fromEntries(Object.entries(msg.headers).map(([k, v]) => [k, String(v.value)]));
    out.push({ headers, payload: JSON.parse(toUtf8(msg.body)) });
    at += len;
  }
  return out;
}

describe('mock provider: Bedrock Converse', () => {
  let m: MockHandle;
  let strict: MockHandle;
  let br: BedrockRuntimeClient;

  beforeAll(async () => {
    m = await startMock({
      name: 'bed',
      keys: {
        AKIDTHROTTLED: { status: 429 },
        AKIDBUSY: { status: 503 },
        AKIDMODELERR: { status: 424 },
        AKIDBROKEN: { status: 500 },
        AKIDSLOW: { latencyMs: 60 },
      },
    });
    strict = await startMock({
      name: 'strict',
      models: [MODEL, 'amazon.nova-lite-v1:0'],
      validKeys: ['ABSK-good-key'],
      awsCredentials: { AKIDPROD: 'prod-secret', AKIDOTHER: 'other-secret' },
    });
    br = client(m);
  });
  afterAll(async () => {
    await m.close();
    await strict.close();
  });

  it('answers Converse in Bedrock shape for a SigV4-signed SDK request (session token included)', async () => {
    m.resetStats();
    const sdk = client(m, { credentials: { ...CREDS, sessionToken: 'FwoGZXIvYXdzEMOCK' } });
    const res = await sdk.send(new ConverseCommand({ ...ASK, inferenceConfig: { maxTokens: 50 } }));
    expect(res.output?.message?.role).toBe('assistant');
    const content = res.output!.message!.content!;
    expect(content).toHaveLength(1);
    // Like the other routes, the answer's size follows maxTokens (~4 bytes a token).
    expect(content[0]!.text).toMatch(/^\[bed\] /);
    expect(content[0]!.text).toHaveLength(200);
    expect(res.stopReason).toBe('end_turn');
    expect(res.usage).toEqual({ inputTokens: 7, outputTokens: 50, totalTokens: 57 });
    expect(res.metrics?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(res.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    const s = m.stats();
    // The model id arrives URI-encoded in the path; the mock decodes it for byModel.
    expect(s.byPath).toEqual({ [`/model/${ENCODED}/converse`]: 1 });
    expect(s).toMatchObject({ byKey: { AKIDMOCK: 1 }, byModel: { [MODEL]: 1 }, byStatus: { 200: 1 } });
    const auth = s.lastHeaders!.authorization!;
    expect(auth).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDMOCK\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=/);
    // What the SDK signs: every header but user-agent, including its payload hash and the session token.
    expect(auth).toContain('SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-user-agent,');
    expect(s.lastHeaders!['x-amz-security-token']).toBe('FwoGZXIvYXdzEMOCK');
  });

  it('rejects a signature made with the wrong secret: 403 InvalidSignatureException, as AWS says it', async () => {
    const err = await failure(client(m, { credentials: { ...CREDS, secretAccessKey: 'not-the-secret' } }).send(new ConverseCommand(ASK)));
    // Not a modeled Bedrock error: the SDK names a generic service exception after x-amzn-errortype.
    expect(err).toBeInstanceOf(BedrockRuntimeServiceException);
    expect(err.name).toBe('InvalidSignatureException');
    expect(err.$metadata.httpStatusCode).toBe(403);
    expect(err.message).toMatch(/^The request signature we calculated does not match the signature you provided\./);
    const raw = await signedFetch(m, `/model/${ENCODED}/converse`, JSON.stringify(ASK), { secret: 'wrong' });
    expect(raw.status).toBe(403);
    expect(raw.headers.get('x-amzn-errortype')).toBe('InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/');
    expect(((await raw.json()) as any).message).toMatch(/does not match the signature you provided/);
  });

  it('checks each key id against awsCredentials: the right secret passes, an unknown key id is UnrecognizedClient', async () => {
    const ok = await client(strict, { credentials: { accessKeyId: 'AKIDPROD', secretAccessKey: 'prod-secret' } }).send(new ConverseCommand(ASK));
    expect(ok.stopReason).toBe('end_turn');
    const swapped = await failure(client(strict, { credentials: { accessKeyId: 'AKIDPROD', secretAccessKey: 'other-secret' } }).send(new ConverseCommand(ASK)));
    expect(swapped.name).toBe('InvalidSignatureException');
    // The default "mock-secret" is accepted only when awsCredentials is not set.
    const unknown = await failure(client(strict).send(new ConverseCommand(ASK)));
    expect(unknown.name).toBe('UnrecognizedClientException');
    expect(unknown.message).toBe('The security token included in the request is invalid.');
    expect(unknown.$metadata.httpStatusCode).toBe(403);
  });

  it('requires the canonical path URI-encoded twice (%3A → %253A), as AWS does; aws4, the gateway signer, complies', async () => {
    const body = JSON.stringify({ messages: [user(HELLO)] });
    const good = await signedFetch(m, `/model/${ENCODED}/converse`, body);
    expect(good.status).toBe(200);
    // Signing the path encoded only once (higress #2396) fails, but only for ids with escapable characters.
    const once = await signedFetch(m, `/model/${ENCODED}/converse`, body, { doNotEncodePath: true });
    expect(once.status).toBe(403);
    expect(once.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException:/);
    const plain = await signedFetch(m, '/model/mock-small/converse', body, { doNotEncodePath: true });
    expect(plain.status).toBe(200);
    // The SDK's own signer with its path escaping off makes the same mistake.
    const signer = new SignatureV4({ service: 'bedrock', region: 'us-east-1', credentials: CREDS, sha256: Hash.bind(null, 'sha256'), uriEscapePath: false });
    const host = new URL(m.url).host;
    const signed = await signer.sign({ method: 'POST', protocol: 'http:', hostname: host, path: `/model/${ENCODED}/converse`, headers: { host, 'content-type': 'application/json' }, body });
    const { host: _h, ...headers } = signed.headers;
    const res = await fetch(`${m.url}/model/${ENCODED}/converse`, { method: 'POST', headers, body });
    expect(res.status).toBe(403);
  });

  it('covers the exact body bytes: a body changed after signing, or a false x-amz-content-sha256, is refused', async () => {
    const body = JSON.stringify({ messages: [user(HELLO)] });
    const edited = body.replace('Hello', 'Jello'); // same length, so content-length still matches
    expect((await signedFetch(m, `/model/${ENCODED}/converse`, body, { send: edited })).status).toBe(403);
    const lying = await signedFetch(m, `/model/${ENCODED}/converse`, body, { send: edited, headers: { 'x-amz-content-sha256': 'e'.repeat(64) } });
    expect(lying.status).toBe(403);
  });

  it('refuses an x-amz-date more than 5 minutes off; the SDK corrects its clock from the Date header and retries', async () => {
    const old = await signedFetch(m, `/model/${ENCODED}/converse`, JSON.stringify({ messages: [user(HELLO)] }), { date: new Date(Date.now() - 10 * 60_000) });
    expect(old.status).toBe(403);
    expect(old.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException:/);
    expect(((await old.json()) as any).message).toMatch(/^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
    const future = await signedFetch(m, `/model/${ENCODED}/converse`, JSON.stringify({ messages: [user(HELLO)] }), { date: new Date(Date.now() + 10 * 60_000) });
    expect(((await future.json()) as any).message).toMatch(/^Signature not yet current: /);

    const skewed = client(m, { systemClockOffset: -10 * 60_000, maxAttempts: 3 });
    const res = await skewed.send(new ConverseCommand(ASK));
    expect(res.stopReason).toBe('end_turn');
    expect(res.$metadata.attempts).toBe(2);
    expect(Math.abs(skewed.config.systemClockOffset!)).toBeLessThan(5_000);
  });

  it('answers 403 MissingAuthenticationToken without credentials, and IncompleteSignature for a header it cannot read', async () => {
    const none = await fetch(`${m.url}/model/${ENCODED}/converse`, { method: 'POST', body: JSON.stringify(ASK) });
    expect(none.status).toBe(403);
    expect(none.headers.get('x-amzn-errortype')).toMatch(/^MissingAuthenticationTokenException:/);
    expect(await none.json()).toEqual({ message: 'Missing Authentication Token' });
    const odd = await fetch(`${m.url}/model/${ENCODED}/converse`, { method: 'POST', headers: { authorization: 'Basic Zm9vOmJhcg==' }, body: '{}' });
    expect(odd.headers.get('x-amzn-errortype')).toMatch(/^IncompleteSignatureException:/);
  });

  it('takes a Bedrock API key as a bearer token (the SDK `token` with authSchemePreference) and checks it against validKeys', async () => {
    m.resetStats();
    const res = await client(m, { token: { token: 'ABSK-any-key' }, authSchemePreference: ['httpBearerAuth'] }).send(new ConverseCommand(ASK));
    expect(res.stopReason).toBe('end_turn');
    const s = m.stats();
    expect(s.lastHeaders!.authorization).toBe('Bearer ABSK-any-key');
    expect(s.lastHeaders!['x-amz-date']).toBeUndefined(); // no SigV4 at all on this path
    expect(s.byKey).toEqual({ 'ABSK-any-key': 1 });

    const good = await client(strict, { token: { token: 'ABSK-good-key' }, authSchemePreference: ['httpBearerAuth'] }).send(new ConverseCommand(ASK));
    expect(good.stopReason).toBe('end_turn');
    const bad = await failure(client(strict, { token: { token: 'ABSK-bad-key' }, authSchemePreference: ['httpBearerAuth'] }).send(new ConverseCommand(ASK)));
    expect(bad).toBeInstanceOf(AccessDeniedException);
    expect(bad.$metadata.httpStatusCode).toBe(403);
    // The API-key path answers {"Message": …} (capital M); the SDK reads it all the same.
    expect(bad.message).toBe('Authentication failed: Please make sure your API Key is valid.');
  });

  it('calls the tools (at most 2, input from inputSchema.json, {} for no properties) with stopReason tool_use', async () => {
    const res = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user('Use a tool please')], toolConfig: TOOLS }));
    const content = res.output!.message!.content!;
    expect(content.map((b) => Object.keys(b).find((k) => (b as any)[k] !== undefined))).toEqual(['text', 'toolUse', 'toolUse']);
    expect(content[1]!.toolUse).toMatchObject({ name: 'get_weather', input: { city: 'x', days: 1, metric: true, unit: 'c' } });
    expect(content[1]!.toolUse!.toolUseId).toMatch(/^tooluse_mock_/);
    expect(content[2]!.toolUse).toMatchObject({ name: 'now', input: {} });
    expect(res.stopReason).toBe('tool_use');

    const named = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user(HELLO)], toolConfig: { ...TOOLS, toolChoice: { tool: { name: 'now' } } } }));
    expect(named.output!.message!.content!.flatMap((b) => (b.toolUse ? [b.toolUse.name] : []))).toEqual(['now']);
    const any = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user(HELLO)], toolConfig: { ...TOOLS, toolChoice: { any: {} } } }));
    expect(any.stopReason).toBe('tool_use');
    const auto = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user(HELLO)], toolConfig: TOOLS }));
    expect(auto.stopReason).toBe('end_turn');
  });

  it('answers a tool round trip, and opens with a signed reasoningContent block when thinking is on', async () => {
    const first = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user('Use a tool')], toolConfig: { tools: [WEATHER] }, additionalModelRequestFields: THINKING }));
    const content = first.output!.message!.content!;
    expect(Object.keys(content[0]!).filter((k) => (content[0] as any)[k] !== undefined)).toEqual(['reasoningContent']);
    const reasoning = content[0]!.reasoningContent!.reasoningText!;
    expect(reasoning.text).toMatch(/^\[bed\] Let me think/);
    expect(reasoning.signature).toMatch(/^sig_mock_/);
    expect(content[1]!.text).toBeDefined();
    const call = content[2]!.toolUse!;
    const next = await br.send(
      new ConverseCommand({
        modelId: MODEL,
        toolConfig: { tools: [WEATHER] },
        messages: [
          user('Use a tool'),
          { role: 'assistant', content },
          { role: 'user', content: [{ toolResult: { toolUseId: call.toolUseId, content: [{ json: { temp: 21 } }], status: 'success' } }] },
        ],
      }),
    );
    expect(next.stopReason).toBe('end_turn');
  });

  it('says guardrail_intervened, max_tokens, stop_sequence, and reports cache tokens for a cachePoint', async () => {
    const guard = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user('trip the guardrail')] }));
    expect(guard.stopReason).toBe('guardrail_intervened');
    expect(guard.output!.message!.content![0]!.text).toBe('[bed] Sorry, the model cannot answer this question.');
    const short = await br.send(new ConverseCommand({ ...ASK, toolConfig: TOOLS, inferenceConfig: { maxTokens: 3 } }));
    expect(short.stopReason).toBe('max_tokens');
    expect(short.usage!.outputTokens).toBeLessThanOrEqual(3);
    const stop = await br.send(new ConverseCommand({ modelId: MODEL, messages: [user('please stop here')], inferenceConfig: { stopSequences: ['END'] } }));
    expect(stop.stopReason).toBe('stop_sequence');
    const write = await br.send(new ConverseCommand({ modelId: MODEL, system: [{ text: 'Be brief.' }, { cachePoint: { type: 'default' } }], messages: [user(HELLO)] }));
    expect(write.usage).toMatchObject({ cacheWriteInputTokens: 50, cacheReadInputTokens: 0 });
    const read = await br.send(new ConverseCommand({ modelId: MODEL, system: [{ text: 'Be brief.' }, { cachePoint: { type: 'default' } }], messages: [user('cache-read')] }));
    expect(read.usage).toMatchObject({ cacheReadInputTokens: 100, cacheWriteInputTokens: 0 });
    expect(read.usage!.totalTokens).toBe(read.usage!.inputTokens! + read.usage!.outputTokens! + 100);
  });

  it('rejects what translators break with 400 ValidationException, in Bedrock wording', async () => {
    const cases: Array<[Partial<ConverseCommandInput>, RegExp]> = [
      [{ messages: [user('')] }, /^The text field in the ContentBlock object at messages\.0\.content\.0 is blank\. Add text to the text field, and try again\.$/],
      [{ messages: [{ role: 'user', content: [] }] }, /^The content field in the Message object at messages\.0 is empty\./],
      [{ messages: [{ role: 'assistant', content: [{ text: 'hi' }] }] }, /^A conversation must start with a user message\./],
      [{ messages: [user('a'), user('b')] }, /^A conversation must alternate between user and assistant roles\./],
      [
        { messages: [user('a'), { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'now', input: {} } }] }, { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'noon' }] } }] }] },
        /^The toolConfig field must be defined when using toolUse and toolResult content blocks\.$/,
      ],
      [
        { toolConfig: TOOLS, messages: [user('a'), { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'now', input: {} } }] }, { role: 'user', content: [{ toolResult: { toolUseId: 't9', content: [{ text: 'noon' }] } }] }] },
        /unexpected `tool_use_id` found in `tool_result` blocks: t9/,
      ],
      [
        { toolConfig: TOOLS, messages: [user('a'), { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'now', input: {} } }] }, user('never mind')] },
        /^Expected toolResult blocks at messages\.2\.content for the following Ids: t1$/,
      ],
      [{ toolConfig: TOOLS, messages: [{ role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'x' }] } }] }] }, /^The number of toolResult blocks at messages\.0\.content exceeds/],
      [
        { messages: [{ role: 'user', content: [{ text: 'what is this?' }, { image: { format: 'jpeg', source: { bytes: PNG } } }] }] },
        /messages\.0\.content\.1\.image\.source\.bytes: The image was specified using the image\/jpeg media type, but the image appears to be a image\/png image$/,
      ],
      [{ ...ASK, inferenceConfig: { temperature: 1.5 } }, /^1 validation error detected: Value '1\.5' at 'inferenceConfig\.temperature' failed to satisfy constraint: Member must have value less than or equal to 1$/],
    ];
    for (const [input, message] of cases) {
      const err = await failure(br.send(new ConverseCommand({ modelId: MODEL, ...input } as ConverseCommandInput)));
      expect(err, String(message)).toBeInstanceOf(ValidationException);
      expect(err.$metadata.httpStatusCode).toBe(400);
      expect(err.message).toMatch(message);
    }
    const png = await br.send(new ConverseCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: 'what is this?' }, { image: { format: 'png', source: { bytes: PNG } } }] }] }));
    expect(png.stopReason).toBe('end_turn');
  });

  it('turns injected faults into typed exceptions, with x-amzn-errortype; an unknown model is ResourceNotFound', async () => {
    const as = (accessKeyId: string, maxAttempts = 1) => client(m, { credentials: { accessKeyId, secretAccessKey: 'mock-secret' }, maxAttempts });
    const cases: Array<[string, new (...a: any[]) => Error, number]> = [
      ['AKIDTHROTTLED', ThrottlingException, 429],
      ['AKIDBUSY', ServiceUnavailableException, 503],
      ['AKIDMODELERR', ModelErrorException, 424],
      ['AKIDBROKEN', InternalServerException, 500],
    ];
    for (const [key, type, status] of cases) {
      const err = await failure(as(key).send(new ConverseCommand(ASK)));
      expect(err, key).toBeInstanceOf(type);
      expect(err.$metadata.httpStatusCode).toBe(status);
    }
    // The SDK retries throttling on its own (3 attempts by default): a gateway behind it sees each one.
    m.resetStats();
    const retried = await failure(as('AKIDTHROTTLED', 3).send(new ConverseCommand(ASK)));
    expect(retried.$metadata.attempts).toBe(3);
    expect(m.stats().byStatus).toEqual({ 429: 3 });
    const raw = await signedFetch(m, `/model/${ENCODED}/converse`, JSON.stringify({ messages: [user(HELLO)] }), { headers: { 'x-mock-status': '429' } });
    expect(raw.headers.get('x-amzn-errortype')).toBe('ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/');
    expect(raw.headers.get('retry-after')).toBeNull(); // Bedrock sends none
    expect(await raw.json()).toEqual({ message: 'Too many requests, please wait before trying again.' });

    const missing = await failure(client(strict, { credentials: { accessKeyId: 'AKIDPROD', secretAccessKey: 'prod-secret' } }).send(new ConverseCommand({ ...ASK, modelId: 'meta.llama3-70b-instruct-v1:0' })));
    expect(missing).toBeInstanceOf(ResourceNotFoundException);
    expect(missing.$metadata.httpStatusCode).toBe(404);
  });

  it('applies the latency knob per key and reports it in metrics.latencyMs; an unknown operation is a 404', async () => {
    const res = await client(m, { credentials: { accessKeyId: 'AKIDSLOW', secretAccessKey: 'mock-secret' } }).send(new ConverseCommand(ASK));
    expect(res.metrics!.latencyMs).toBeGreaterThanOrEqual(55);
    const invoke = await signedFetch(m, `/model/${ENCODED}/invoke`, '{}');
    expect(invoke.status).toBe(404);
    expect(invoke.headers.get('x-amzn-errortype')).toMatch(/^UnknownOperationException:/);
  });
});

describe('mock provider: Bedrock ConverseStream', () => {
  let m: MockHandle;
  let br: BedrockRuntimeClient;

  beforeAll(async () => {
    m = await startMock({ name: 'bed' });
    br = client(m);
  });
  afterAll(async () => {
    await m.close();
  });

  it('streams messageStart, text deltas, contentBlockStop, messageStop, then metadata LAST', async () => {
    m.resetStats();
    const res = await br.send(knobs(new ConverseStreamCommand({ ...ASK, inferenceConfig: { maxTokens: 100 } }), { 'x-mock-chunks': '4' }));
    const { events, error } = await drain(res.stream);
    expect(error).toBeNull();
    expect(names(events)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect(events[0]!.messageStart).toEqual({ role: 'assistant' });
    expect(textOf(events)).toBe('[bed] The quick brown ');
    expect(events[6]!.messageStop).toEqual({ stopReason: 'end_turn' });
    expect(events[7]!.metadata!.usage).toEqual({ inputTokens: 7, outputTokens: 4, totalTokens: 11 });
    expect(events[7]!.metadata!.metrics!.latencyMs).toBeGreaterThanOrEqual(0);
    expect(m.stats()).toMatchObject({ streamsCompleted: 1, byPath: { [`/model/${ENCODED}/converse-stream`]: 1 } });
  });

  it('streams reasoning (text, then signature), text, and each tool as start, ≥ 2 input fragments, stop (none for a zero-arg tool)', async () => {
    const res = await br.send(
      knobs(new ConverseStreamCommand({ modelId: MODEL, messages: [user('Use a tool')], toolConfig: TOOLS, additionalModelRequestFields: THINKING }), { 'x-mock-chunks': '2' }),
    );
    const { events, error } = await drain(res.stream);
    expect(error).toBeNull();
    expect(names(events)).toEqual([
      'messageStart',
      'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', // reasoning: 2 text parts, the signature
      'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', // text
      'contentBlockStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', // get_weather
      'contentBlockStart', 'contentBlockStop', // now(): no input delta at all
      'messageStop',
      'metadata',
    ]);
    const reasoning = events.slice(1, 4).map((e) => e.contentBlockDelta!.delta!.reasoningContent!);
    expect(reasoning[0]!.text! + reasoning[1]!.text!).toMatch(/^\[bed\] Let me think/);
    expect(reasoning[2]!.signature).toMatch(/^sig_mock_/);
    expect(events.slice(1, 5).every((e) => (e.contentBlockDelta ?? e.contentBlockStop)!.contentBlockIndex === 0)).toBe(true);
    expect(events[8]!.contentBlockStart).toEqual({ contentBlockIndex: 2, start: { toolUse: { toolUseId: expect.stringMatching(/^tooluse_mock_/), name: 'get_weather' } } });
    const input = events.slice(9, 11).map((e) => e.contentBlockDelta!.delta!.toolUse!.input).join('');
    expect(JSON.parse(input)).toEqual({ city: 'x', days: 1, metric: true, unit: 'c' });
    expect(events[12]!.contentBlockStart!.start!.toolUse!.name).toBe('now');
    expect(events[14]!.messageStop!.stopReason).toBe('tool_use');
  });

  it('sends binary frames with real CRCs, Bedrock headers and the "p" padding field (raw, bearer auth)', async () => {
    const res = await fetch(`${m.url}/model/${ENCODED}/converse-stream`, {
      method: 'POST',
      headers: { authorization: 'Bearer ABSK-raw', 'content-type': 'application/json', 'x-mock-chunks': '3' },
      body: JSON.stringify({ messages: [user(HELLO)] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.amazon.eventstream');
    expect(res.headers.get('x-amzn-requestid')).toMatch(/^[0-9a-f-]{36}$/);
    const all = frames(Buffer.from(await res.arrayBuffer()));
    expect(all.map((f) => f.headers[':event-type'])).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    for (const f of all) {
      expect(f.headers[':message-type']).toBe('event');
      expect(f.headers[':content-type']).toBe('application/json');
      expect(f.payload.p).toMatch(/^[a-zA-Z0-9]+$/);
    }
    expect(new Set(all.map((f) => f.payload.p.length)).size).toBeGreaterThan(1);
    expect(all[1]!.payload).toMatchObject({ contentBlockIndex: 0, delta: { text: '[bed] ' } });
  });

  it('ends with an exception frame after N text deltas; the SDK raises each as its typed exception', async () => {
    const types: Array<[string, new (...a: any[]) => Error]> = [
      ['throttlingException', ThrottlingException],
      ['modelStreamErrorException', ModelStreamErrorException],
      ['validationException', ValidationException],
      ['serviceUnavailableException', ServiceUnavailableException],
      ['internalServerException', InternalServerException],
    ];
    for (const [type, cls] of types) {
      const res = await br.send(knobs(new ConverseStreamCommand(ASK), { 'x-mock-stream-error-after': '2', 'x-mock-stream-error': type }));
      const { events, error } = await drain(res.stream);
      expect(names(events)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta']);
      expect(error, type).toBeInstanceOf(cls);
      expect(error.message.length).toBeGreaterThan(0);
    }
    // Before the stream starts, an error is an HTTP status like Converse's, raised by send() itself.
    const refused = await failure(br.send(knobs(new ConverseStreamCommand(ASK), { 'x-mock-status': '429' })));
    expect(refused).toBeInstanceOf(ThrottlingException);
    expect(refused.$metadata.httpStatusCode).toBe(429);
    // The knob's Anthropic default maps to Bedrock's nearest exception.
    const res = await br.send(knobs(new ConverseStreamCommand(ASK), { 'x-mock-stream-error': 'overloaded_error' }));
    expect((await drain(res.stream)).error).toBeInstanceOf(ServiceUnavailableException);

    const raw = await fetch(`${m.url}/model/${ENCODED}/converse-stream`, {
      method: 'POST',
      headers: { authorization: 'Bearer ABSK-raw', 'x-mock-stream-error-after': '1', 'x-mock-stream-error': 'throttlingException' },
      body: JSON.stringify({ messages: [user(HELLO)] }),
    });
    const last = frames(Buffer.from(await raw.arrayBuffer())).at(-1)!;
    expect(last.headers).toEqual({ ':message-type': 'exception', ':exception-type': 'throttlingException', ':content-type': 'application/json' });
    expect(last.payload).toEqual({ message: 'Too many requests, please wait before trying again.' });
  });

  it('applies disconnect, chunk delay and malformed (a bad CRC) to the stream as the SDK sees it', async () => {
    m.resetStats();
    const cut = await br.send(knobs(new ConverseStreamCommand(ASK), { 'x-mock-disconnect-after': '2' }));
    const dropped = await drain(cut.stream);
    expect(names(dropped.events)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta']);
    expect(dropped.error).not.toBeNull();
    await waitForStats(m, (s) => s.resets === 1);

    const t0 = Date.now();
    const slow = await br.send(knobs(new ConverseStreamCommand(ASK), { 'x-mock-chunks': '3', 'x-mock-chunk-delay-ms': '40' }));
    expect(textOf((await drain(slow.stream)).events)).toBe('[bed] The quick ');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(75);

    const bad = await br.send(knobs(new ConverseStreamCommand(ASK), { 'x-mock-malformed': '1' }));
    const broken = await drain(bad.stream);
    expect(names(broken.events)).toEqual(['messageStart']);
    expect(String(broken.error)).toMatch(/checksum/i);
    expect(m.stats().malformed).toBe(1);
  });

  it('survives clients that leave mid-stream and keeps answering', async () => {
    m.resetStats();
    const aborts = Array.from({ length: 8 }, async () => {
      const ac = new AbortController();
      const res = await fetch(`${m.url}/model/${ENCODED}/converse-stream`, {
        method: 'POST',
        headers: { authorization: 'Bearer ABSK-raw', 'x-mock-chunk-delay-ms': '30' },
        body: JSON.stringify({ messages: [user(HELLO)] }),
        signal: ac.signal,
      });
      const reader = res.body!.getReader();
      await reader.read();
      ac.abort();
      await reader.read().catch(() => undefined);
    });
    await Promise.all(aborts);
    await waitForStats(m, (s) => s.aborted === 8 && s.inFlight === 0);
    const res = await br.send(new ConverseStreamCommand(ASK));
    expect((await drain(res.stream)).error).toBeNull();
  });

  it("counts tokens for the SDK's CountTokensCommand (/count-tokens, the Converse request under input.converse) as Converse's usage would", async () => {
    m.resetStats();
    const system = [{ text: 'Be brief.' }];
    const counted = await br.send(new CountTokensCommand({ modelId: MODEL, input: { converse: { messages: [user(HELLO)], system, toolConfig: TOOLS } } }));
    const used = await br.send(new ConverseCommand({ ...ASK, system, toolConfig: TOOLS }));
    expect(counted.inputTokens).toBe(used.usage!.inputTokens);
    expect(counted.inputTokens).toBe(9); // 25 + 9 characters of text, a quarter rounded up
    expect(m.stats().byPath).toMatchObject({ [`/model/${ENCODED}/count-tokens`]: 1 });
    // What Converse refuses, counting refuses too; and Bedrock counts for Anthropic's models only.
    const empty = await failure(br.send(new CountTokensCommand({ modelId: MODEL, input: { converse: { messages: [] } } })));
    expect(empty.name).toBe('ValidationException');
    const nova = await failure(br.send(new CountTokensCommand({ modelId: 'amazon.nova-lite-v1:0', input: { converse: { messages: [user(HELLO)] } } })));
    expect(nova.name).toBe('ValidationException');
    expect(nova.message).toMatch(/doesn't support counting tokens/);
    // The invokeModel member: a Claude InvokeModel body, which the SDK sends as a base64 blob.
    const claudeBody = (extra: Record<string, unknown> = {}) =>
      new TextEncoder().encode(JSON.stringify({ anthropic_version: 'bedrock-2023-05-31', max_tokens: 100, system: 'Be brief.', messages: [{ role: 'user', content: HELLO }], ...extra }));
    const invoked = await br.send(new CountTokensCommand({ modelId: MODEL, input: { invokeModel: { body: claudeBody() } } }));
    expect(invoked.inputTokens).toBe(counted.inputTokens);
    const withModel = await failure(br.send(new CountTokensCommand({ modelId: MODEL, input: { invokeModel: { body: claudeBody({ model: MODEL }) } } })));
    expect(withModel.message).toMatch(/extraneous key \[model\]/);
    const profile = await failure(br.send(new CountTokensCommand({ modelId: `us.${MODEL}`, input: { invokeModel: { body: claudeBody() } } })));
    expect(profile.message).toMatch(/doesn't support counting tokens/);
  });
});
