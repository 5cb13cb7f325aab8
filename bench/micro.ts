// `npm run bench:micro [-- --only <regex>]`: tinybench micro-benchmarks of the request path's hot
// functions, on the same realistic bodies the load runs send, and of wire-format translation
// (bench/lib/translation-inputs.ts: an agent turn with tools, a 4 KB answer, one stream event each
// way). Prints a table and, on a full run, writes results/micro.json (ns per op; each figure includes
// tinybench's ~35 ns per-call overhead). --only runs the rows whose name matches, and writes nothing.
import { writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Bench } from 'tinybench';
import { validateConfig } from '../src/config/load.ts';
import { compilePlan } from '../src/config/compile.ts';
import { resolveTarget, pickKey, keysFor, resolveRoute, attemptOrder } from '../src/plan/routes.ts';
import { replaceTopLevelValue } from '../src/util/json-splice.ts';
import { SseFramer } from '../src/util/sse-framer.ts';
import { countTopLevelKey } from '../src/util/json-splice.ts';
import { isWellFormedJson } from '../src/util/json-check.ts';
import { headerSafe } from '../src/util/header-value.ts';
import { HISTOGRAM_FIELDS, MicrosHistogram } from '../src/state/micros-histogram.ts';
import { chatBodies } from './lib/bodies.ts';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { RequestContext, type RequestSink } from '../src/request/context.ts';
import { openaiDialect } from '../src/formats/openai/index.ts';
import { CODECS, FORMATS } from '../src/formats/index.ts';
import { responsesDialect } from '../src/formats/responses/index.ts';
import { EventStreamDecoder } from '../src/formats/bedrock/eventstream.ts';
import { bedrockEndpoint } from '../src/endpoints/bedrock.ts';
import { StreamTranslation } from '../src/formats/stream-translation.ts';
import { translationInputs } from './lib/translation-inputs.ts';
import { evaluateRules } from '../src/rules/evaluate.ts';
import { createRing, RingReader, RingWriter } from '../src/telemetry/ring.ts';
import { encodeRecord } from '../src/telemetry/record.ts';
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { parseRequest, requestDeadline } from '../src/pipeline/parse.ts';
import { routeRequest } from '../src/pipeline/route.ts';
import { upstreamBody } from '../src/upstream/forward.ts';
import { Classifier } from '../src/classify/classifier.ts';
import { openaiCodec } from '../src/formats/openai/index.ts';
import type { UsageSink } from '../src/formats/format.ts';

const { values: args } = parseArgs({ options: { only: { type: 'string' } } });

const ROOT = resolve(import.meta.dirname, '..');
const plan = compilePlan(validateConfig(parseYaml(readFileSync(join(ROOT, 'bench/microgate.bench.yaml'), 'utf8'))));
const bodies = chatBodies('bench', 64, false).map((b) => Buffer.from(b));
// The OpenAI Python SDK writes `messages` before `model`: the splice must then scan past the prompt.
const modelLast = bodies.map((b) => {
  const { model, ...rest } = JSON.parse(b.toString()) as Record<string, unknown>;
  return Buffer.from(JSON.stringify({ ...rest, model }));
});
const events = Buffer.from(
  Array.from({ length: 8 }, (_, i) => `data: {"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok${i} "},"finish_reason":null}]}\n\n`).join(''),
);
// Ten rules of the kinds users write (headers, body fields, model, budget), none matching, so all
// ten are evaluated; none reads the complexity, so this is the rule engine alone.
const ruled = compilePlan(
  validateConfig({
    ...(parseYaml(readFileSync(join(ROOT, 'bench/microgate.bench.yaml'), 'utf8')) as object),
    rules: [
      { name: 'r1', when: 'headers["x-tier"] == "premium"', targets: [{ provider: 'openai', model: 'mock-small' }] },
      { name: 'r2', when: '"x-team" in headers && headers["x-team"] == "banned"', deny: { message: 'no' } },
      { name: 'r3', when: 'request.max_tokens > 100000', targets: [{ provider: 'mistral', model: 'mock-small' }] },
      { name: 'r4', when: 'request.tools && model == "bench"', targets: [{ provider: 'openai', model: 'mock-small' }] },
      { name: 'r5', when: 'budget_used > 85.0', targets: [{ provider: 'groq' }] },
      { name: 'r6', when: 'model.startsWith("openai/o1")', deny: { message: 'no' } },
      { name: 'r7', when: 'request.temperature > 1.5', targets: [{ provider: 'groq' }] },
      { name: 'r8', when: 'provider == "mistral" && request.stream', targets: [{ provider: 'groq' }] },
      { name: 'r9', when: 'request.message_count > 50', tag: 'long' },
      { name: 'r10', when: 'tokens_used > 90.0 || requests_used > 90.0', tag: 'near-limit' },
    ],
  }),
);
const sink = { requestFinished() {}, upstreamPaused() {} } as unknown as RequestSink;
const ruleCtx = (body: Buffer) => {
  // Headers as the server copies them (null prototype); the rules read some that are absent, as
  // they usually are: `headers["x-tier"]` without `"x-tier" in headers` first.
  const headers: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, { host: '127.0.0.1:8090', 'content-type': 'application/json', 'content-length': '2500' });
  const ctx = new RequestContext(ruled, null as never, sink, 'chat', openaiDialect, 'id', headers, 0);
  ctx.body = JSON.parse(body.toString()) as Record<string, unknown>;
  ctx.model = 'bench';
  return ctx;
};
// A finished request as the telemetry hand-off sees it: one attempt, tokens, timings.
const ring = createRing(1 << 16);
const ringWriter = new RingWriter(ring);
const ringReader = new RingReader(ring);
const finished = ruleCtx(bodies[0]!);
{
  const t = resolveTarget(plan, 'openai/mock-small');
  const key = pickKey(t.provider, t.model);
  Object.assign(finished, { status: 200, tEnd: 1.2, tDispatch: 0.05, tUpstreamEnd: 1.1, promptTokens: 812, completionTokens: 96 });
  (finished as unknown as { failover: unknown }).failover = { records: [{ target: t, key, status: 200, flag: '', ms: 1.05 }] };
}
// The synchronous part of a request on the bench config (its six rules, one reading the complexity):
// parse, route (rules and classifier included), the upstream body (the model spliced in). Everything
// handleRequest does before undici's dispatch, on a fresh context per request as the server makes one.
const benchHeaders = (): Record<string, string> => Object.assign(Object.create(null) as Record<string, string>, { host: '127.0.0.1:8090', 'content-type': 'application/json', 'content-length': '2500', 'user-agent': 'OpenAI/Python 1.55.0', accept: 'application/json' });
const pipelineOnce = (body: Buffer): void => {
  const ctx = new RequestContext(plan, null as never, sink, 'chat', openaiDialect, 'id', benchHeaders(), 0);
  ctx.raw = body;
  parseRequest(ctx);
  requestDeadline(ctx);
  routeRequest(ctx);
  sink2 += upstreamBody(ctx, ctx.targets[0]!).length;
};
const classifier = new Classifier();
const parsedBodies = bodies.map((b) => JSON.parse(b.toString()) as { messages: unknown[] });
const usageSink: UsageSink = { promptTokens: -1, completionTokens: -1, cacheReadTokens: 0, cacheWriteTokens: 0 };
// A 4 KB chat answer as a provider sends it, and the redactor of a plan with three provider keys.
const answer = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: 'The quick brown fox jumps over the lazy dog. '.repeat(88) }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 812, completion_tokens: 960, total_tokens: 1772 },
  }),
);
const MODEL_KEY = Buffer.from('model');
const MODEL_NEEDLE = Buffer.from('"model"');
const route = 'rule:cheap-simple tier:SIMPLE > openai/gpt-4o-mini#main:200';
const hist = new MicrosHistogram(new Float64Array(HISTOGRAM_FIELDS), 0);
// Wire-format translation (src/formats/): a ~2 KB agent turn and a ~4 KB answer each way, and one
// stream event each way through a translation set up once (mid-stream, its block already open).
const tx = translationInputs();
const { openai: OA, anthropic: AN } = FORMATS;
const anToOa = new StreamTranslation(AN.codec.streamDecoder(tx.streamReq), OA.dialect.streamEncoder(tx.streamReq));
anToOa.push(tx.anthropicStreamHead);
const oaToAn = new StreamTranslation(OA.codec.streamDecoder(tx.streamReq), AN.dialect.streamEncoder(tx.streamReq));
oaToAn.push(tx.openaiStreamHead);
const { gemini: GE, bedrock: BR } = CODECS;
// The Responses API: the same agent turn as a Responses request, and Anthropic's events as Responses events.
const responsesRequest = {
  model: 'bench-anthropic',
  instructions: (tx.openaiRequest.messages as Array<{ content: string }>)[0]!.content,
  input: 'Our p99 went from 4 ms to 19 ms after Tuesday\'s deploy. What changed on the eu-west gateway?',
  tools: (tx.openaiRequest.tools as Array<{ function: Record<string, unknown> }>).map((t) => ({ type: 'function', ...t.function })),
  max_output_tokens: 1024,
  stream: true,
};
const responsesReq = responsesDialect.toCanonical(responsesRequest, 'responses');
const anToResp = new StreamTranslation(AN.codec.streamDecoder(responsesReq), responsesDialect.streamEncoder(responsesReq, responsesRequest));
anToResp.push(tx.anthropicStreamHead);
const geToOa = new StreamTranslation(GE.streamDecoder(tx.streamReq), OA.dialect.streamEncoder(tx.streamReq));
geToOa.push(tx.geminiChunk);
const brToOa = new StreamTranslation(BR.streamDecoder(tx.streamReq), OA.dialect.streamEncoder(tx.streamReq), { id: 'mg-1', model: 'anthropic.claude-3-5-haiku-20241022-v1:0' });
const brFrames = new EventStreamDecoder();
for (const m of brFrames.push(tx.bedrockStreamHead)) brToOa.pushEvent(m.type, m.payload);
// SigV4 as each Bedrock attempt signs: the endpoint's headers, a 2.3 KB body, an inference-profile model id.
const bedrock = bedrockEndpoint({ url: new URL('https://bedrock-runtime.us-east-1.amazonaws.com'), region: 'us-east-1', apiVersion: null, deployments: {} });
const awsKey = { value: null, aws: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' } };
const awsHeaders = bedrock.keyHeaders(awsKey, []);
const awsPath = bedrock.path('chat', 'us.anthropic.claude-3-5-haiku-20241022-v1:0', false);
const awsBody = Buffer.from(BR.fromCanonical(OA.dialect.toCanonical(tx.openaiRequest, 'chat'), 'm'));
let sink2 = 0;
const kb = (n: number): string => `${(n / 1024).toFixed(1)} KB`;
const trail: string[] = [];
let i = 0;
const next = <T>(xs: T[]): T => xs[i++ & 63]!;

const bench = new Bench({ time: 400, warmupTime: 100 });
bench
  .add('parse: toString + JSON.parse, 1–4 KB chat body', () => {
    JSON.parse(next(bodies).toString('utf8'));
  })
  .add('route: alias → target → key', () => {
    const t = resolveTarget(plan, 'bench');
    pickKey(t.provider, t.model);
  })
  .add('route: provider/model (undeclared)', () => {
    const t = resolveTarget(plan, 'openai/gpt-x');
    pickKey(t.provider, t.model);
  })
  .add('failover bookkeeping of a request that needs none', () => {
    // What the failover loop adds to a first attempt that succeeds: budget count, attempt order,
    // key draw with its health check, circuit claim and record, the route trail entry.
    const now = performance.now();
    plan.retryBudget.onRequest(now);
    const t = attemptOrder(resolveRoute(plan, 'bench'), null)[0]!;
    const key = keysFor(t.provider, t.model)!.pick();
    const c = plan.health.circuit(key, t);
    if (key.state.restUntil <= now && c.available(now)) c.allow(now);
    trail.push(`${t.label}#${key.name}:200`);
    c.record(true, 0.5, now);
    if (trail.length > 1000) trail.length = 0;
  })
  .add('rules: 10 evaluated, none matching (rule engine alone)', () => {
    evaluateRules(ruleCtx(next(bodies)), ruled.rules, ruled.ruleStats, 'bench', '');
  })
  .add('rules: context alone (baseline for the line above)', () => {
    ruleCtx(next(bodies));
  })
  .add('request path, synchronous: parse → route (6 bench rules, classifier) → upstream body', () => {
    pipelineOnce(next(bodies));
  })
  .add('classifier: classifyMessages of a 1–4 KB chat (system + user)', () => {
    sink2 += classifier.classifyMessages(next(parsedBodies).messages).score;
  })
  .add('usage: scanUsage of a 4 KB OpenAI answer', () => {
    openaiCodec.scanUsage(answer, usageSink);
  })
  .add('usage: scanUsage of 8 stream events without usage', () => {
    openaiCodec.scanUsage(events, usageSink);
  })
  .add('telemetry hand-off: encode one record into the ring', () => {
    let o = ringWriter.claim();
    if (o < 0) {
      ringReader.drain(() => {});
      o = ringWriter.claim();
    }
    encodeRecord(ringWriter.dv, ringWriter.u8, o, finished);
    ringWriter.publish();
  })
  .add('splice model, model first', () => {
    replaceTopLevelValue(next(bodies), 'model', '"mock-small"');
  })
  .add('splice model, model last (after messages)', () => {
    replaceTopLevelValue(next(modelLast), 'model', '"mock-small"');
  })
  .add('re-serialize instead: JSON.stringify of the parsed body', () => {
    Buffer.from(JSON.stringify({ ...(JSON.parse(next(bodies).toString()) as object), model: 'mock-small' }));
  })
  .add('parse: duplicate-model check (about one native pass)', () => {
    countTopLevelKey(next(bodies), MODEL_KEY, MODEL_NEEDLE);
  })
  .add('answer: JSON well-formedness check, 4 KB', () => {
    isWellFormedJson(answer);
  })
  .add('answer: key redaction scan, 4 KB, 3 keys', () => {
    plan.redactor.redactBytes(answer);
  })
  .add('stream: key redaction scan, 8 events', () => {
    plan.redactor.redactBytes(events);
  })
  .add('headers: headerSafe of a route string', () => {
    headerSafe(route);
  })
  .add('SSE framer: 8 events in one chunk', () => {
    new SseFramer().push(events);
  })
  .add('in-gateway histogram record (log-linear buckets)', () => {
    hist.record((i++ & 1023) + 1);
  })
  .add(`xlate request OpenAI → Anthropic (${kb(tx.openaiRequestBytes)}, 2 tools)`, () => {
    sink2 += AN.codec.fromCanonical(OA.dialect.toCanonical(tx.openaiRequest, 'chat'), 'claude-mock').length;
  })
  .add(`xlate request Anthropic → OpenAI (${kb(tx.anthropicRequestBytes)}, 2 tools)`, () => {
    sink2 += OA.codec.fromCanonical(AN.dialect.toCanonical(tx.anthropicRequest, 'chat'), 'gpt-mock').length;
  })
  .add('  JSON.stringify of that request alone (baseline)', () => {
    sink2 += JSON.stringify(tx.anthropicRequest).length;
  })
  .add(`xlate answer Anthropic → OpenAI (${kb(tx.anthropicAnswer.length)})`, () => {
    sink2 += OA.dialect.renderResponse(AN.codec.toCanonicalResponse(tx.anthropicAnswer)).length;
  })
  .add(`xlate answer OpenAI → Anthropic (${kb(tx.openaiAnswer.length)})`, () => {
    sink2 += AN.dialect.renderResponse(OA.codec.toCanonicalResponse(tx.openaiAnswer)).length;
  })
  .add('  JSON.parse + JSON.stringify of that answer (baseline)', () => {
    sink2 += JSON.stringify(JSON.parse(tx.anthropicAnswer.toString('utf8'))).length;
  })
  .add('xlate stream: 1 Anthropic text_delta → OpenAI chunk', () => {
    sink2 += anToOa.push(tx.anthropicDelta).length;
  })
  .add('xlate stream: 1 OpenAI content chunk → Anthropic event', () => {
    sink2 += oaToAn.push(tx.openaiDelta).length;
  })
  .add(`xlate request OpenAI → Gemini (${kb(tx.openaiRequestBytes)}, 2 tools)`, () => {
    sink2 += GE.fromCanonical(OA.dialect.toCanonical(tx.openaiRequest, 'chat'), 'gemini-2.5-flash').length;
  })
  .add(`xlate request OpenAI → Bedrock (${kb(tx.openaiRequestBytes)}, 2 tools)`, () => {
    sink2 += BR.fromCanonical(OA.dialect.toCanonical(tx.openaiRequest, 'chat'), 'm').length;
  })
  .add(`xlate answer Gemini → OpenAI (${kb(tx.geminiAnswer.length)})`, () => {
    sink2 += OA.dialect.renderResponse(GE.toCanonicalResponse(tx.geminiAnswer)).length;
  })
  .add(`xlate answer Bedrock → OpenAI (${kb(tx.bedrockAnswer.length)})`, () => {
    sink2 += OA.dialect.renderResponse(BR.toCanonicalResponse(tx.bedrockAnswer)).length;
  })
  .add(`xlate request Responses → Anthropic (${kb(JSON.stringify(responsesRequest).length)}, 2 tools)`, () => {
    sink2 += AN.codec.fromCanonical(responsesDialect.toCanonical(responsesRequest, 'responses'), 'claude-mock').length;
  })
  .add('xlate stream: 1 Anthropic text_delta → Responses event', () => {
    sink2 += anToResp.push(tx.anthropicDelta).length;
  })
  .add('xlate stream: 1 Gemini chunk → OpenAI chunk', () => {
    sink2 += geToOa.push(tx.geminiChunk).length;
  })
  .add('Bedrock: decode 1 event-stream frame (CRC checks)', () => {
    sink2 += brFrames.push(tx.bedrockDeltaFrame).length;
  })
  .add('xlate stream: 1 Bedrock frame → OpenAI chunk (decode included)', () => {
    const m = brFrames.push(tx.bedrockDeltaFrame)[0]!;
    sink2 += brToOa.pushEvent(m.type, m.payload).length;
  })
  .add(`Bedrock: SigV4-sign one attempt (aws4, ${kb(awsBody.length)} body)`, () => {
    sink2 += bedrock.sign!(awsHeaders, awsKey, awsPath, awsBody).length;
  });

// --only: the matching rows alone (before/after comparisons of one change).
if (args.only !== undefined) {
  const only = new RegExp(args.only);
  for (const t of [...bench.tasks]) if (!only.test(t.name)) bench.remove(t.name);
}
await bench.run();
const rows = bench.tasks.map((t) => {
  const r = t.result as { latency?: { mean: number; p99: number }; mean?: number; p99?: number } | undefined;
  const mean = (r?.latency?.mean ?? r?.mean ?? NaN) * 1e6;
  const p99 = (r?.latency?.p99 ?? r?.p99 ?? NaN) * 1e6;
  return { name: t.name, meanNs: Math.round(mean), p99Ns: Math.round(p99) };
});
for (const r of rows) process.stdout.write(`${r.name.padEnd(60)} mean ${String(r.meanNs).padStart(7)} ns   p99 ${String(r.p99Ns).padStart(7)} ns\n`);
if (args.only === undefined) {
  mkdirSync(join(ROOT, 'results'), { recursive: true });
  // The commit from .git's files: this script runs no git command.
  const environment = { date: new Date().toISOString(), commit: headCommit(), node: process.version, cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length };
  writeFileSync(join(ROOT, 'results/micro.json'), `${JSON.stringify({ environment, rows }, null, 1)}\n`);
}
if (sink2 === 0) process.stdout.write('(translation rows produced no output)\n');

await plan.close();
await ruled.close();

function headCommit(): string {
  try {
    const head = readFileSync(join(ROOT, '.git/HEAD'), 'utf8').trim();
    return head.startsWith('ref: ') ? readFileSync(join(ROOT, '.git', head.slice(5)), 'utf8').trim().slice(0, 7) : head.slice(0, 7);
  } catch {
    return 'unknown';
  }
}
