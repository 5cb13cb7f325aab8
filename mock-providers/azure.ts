// Azure OpenAI's classic data-plane paths (providers.md §4.1; Azure OpenAI REST reference):
// POST /openai/deployments/{deployment}/chat/completions | /completions | /embeddings ?api-version=YYYY-MM-DD[-preview]
// The bodies are OpenAI's (responses.ts, embeddings.ts), with Azure's differences:
//   - `api-version` is required: without it the route does not exist → 404 {"error":{"code":"404","message":"Resource not found"}}
//   - the key comes in `api-key` (or `Authorization: Bearer <Entra ID token>`); none, or not in validKeys → 401
//     {"error":{"code":"401","message":"Access denied due to invalid subscription key…"}}
//   - the deployment in the path plays the model's part: the body's `model` may be absent, and the answer's `model`
//     is the deployment. With config.models set, another deployment → 404 DeploymentNotFound
//   - a stream opens with a chunk that has `"choices": []` and only `prompt_filter_results` (code that reads
//     choices[0] of every chunk crashes on it: mentat #429, langfuse #2833); a non-stream body carries
//     prompt_filter_results too
//   - injected 429s say which operation hit which limit, with retry-after / retry-after-ms
// Scenario switches (the last message's text, chat only): "content-filter" → 400 code "content_filter" (the prompt
// was filtered: innererror ResponsibleAIPolicyViolation); "filter-output" → finish_reason "content_filter".
// Knobs (MockBehavior, x-mock-* headers) as on the OpenAI routes; the opening filter chunk is not a content chunk.

import { decide } from './behavior.ts';
import type { Behavior } from './config.ts';
import { embeddingInputs, embeddingsBody } from './embeddings.ts';
import type { Exchange, Header } from './exchange.ts';
import { answerBytes, parseObject, streamStop } from './flow.ts';
import type { RouteHost } from './gemini-route.ts';
import * as R from './responses.ts';
import { bump } from './stats.ts';

export type AzureKind = 'chat' | 'completions' | 'embeddings';

export interface AzureCall {
  kind: AzureKind;
  deployment: string;
  /** null when the query has none. */
  apiVersion: string | null;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseAzureCall(kind: AzureKind, deploymentSegment: string, query: string | undefined): AzureCall {
  const version = query ? new URLSearchParams(query).get('api-version') : null;
  return { kind, deployment: decode(deploymentSegment), apiVersion: version === '' ? null : version };
}

/** `api-key`, else an Entra ID bearer token (§4.1: either authenticates). */
export function azureKey(headers: Record<string, string>): string {
  const key = headers['api-key']?.trim();
  if (key) return key;
  const auth = headers.authorization;
  return auth !== undefined && auth.slice(0, 7).toLowerCase() === 'bearer ' ? auth.slice(7).trim() : '';
}

const azureError = (code: string, message: string): string => JSON.stringify({ error: { code, message } });
export const RESOURCE_NOT_FOUND = azureError('404', 'Resource not found');
export const ACCESS_DENIED = azureError(
  '401',
  'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
);
const DEPLOYMENT_NOT_FOUND = azureError(
  'DeploymentNotFound',
  'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
);
const BAD_JSON = R.errorBody('We could not parse the JSON body of your request.', 'invalid_request_error', 'invalid_json');
const BAD_INPUT = R.errorBody("'input' must be a string, or an array of strings or of token arrays.", 'invalid_request_error', 'invalid_input');
const BAD_DIMS = R.errorBody("'dimensions' must be an integer from 1 to 8192.", 'invalid_request_error', 'invalid_dimensions');

const OPERATIONS: Record<AzureKind, string> = { chat: 'ChatCompletions_Create', completions: 'Completions_Create', embeddings: 'Embeddings_Create' };

function rateLimited(call: AzureCall, sec: number): string {
  return azureError(
    '429',
    `Requests to the ${OPERATIONS[call.kind]} Operation under Azure OpenAI API version ${call.apiVersion} have exceeded call rate limit of your current ` +
      `OpenAI S0 pricing tier. Please retry after ${sec} seconds. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit.`,
  );
}

const SAFE = '{"hate":{"filtered":false,"severity":"safe"},"jailbreak":{"filtered":false,"detected":false},"self_harm":{"filtered":false,"severity":"safe"},"sexual":{"filtered":false,"severity":"safe"},"violence":{"filtered":false,"severity":"safe"}}';
const PROMPT_FILTER_RESULTS = `"prompt_filter_results":[{"prompt_index":0,"content_filter_results":${SAFE}}]`;
/** The first chunk of every Azure stream: no id, no model, no choices (§4.1). */
const FILTER_CHUNK = `data: {"choices":[],"created":0,"id":"","model":"","object":"",${PROMPT_FILTER_RESULTS}}\n\n`;

const CONTENT_FILTERED = JSON.stringify({
  error: {
    message:
      "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry. " +
      'To learn more about our content filtering policies please read our documentation: https://go.microsoft.com/fwlink/?linkid=2198766',
    type: null,
    param: 'prompt',
    code: 'content_filter',
    status: 400,
    innererror: {
      code: 'ResponsibleAIPolicyViolation',
      content_filter_result: { ...JSON.parse(SAFE), violence: { filtered: true, severity: 'medium' } },
    },
  },
});

/** The last message's text content (string or text parts). */
function lastText(body: Record<string, unknown>): string {
  const messages = Array.isArray(body.messages) ? body.messages : [];
  const content = (messages[messages.length - 1] as { content?: unknown } | undefined)?.content;
  if (typeof content === 'string') return content;
  return Array.isArray(content) ? content.map((p) => (typeof (p as { text?: unknown })?.text === 'string' ? (p as { text: string }).text : '')).join(' ') : '';
}

const STOP = '"finish_reason":"stop"';
const FILTERED_STOP = '"finish_reason":"content_filter"';

export function respondAzure(host: RouteHost, ex: Exchange, b: Behavior, call: AzureCall, text: string): void {
  const plan = host.plan;
  if (call.apiVersion === null) return ex.json(404, RESOURCE_NOT_FOUND);
  // A key is required even without validKeys: a gateway that drops it is the bug to catch. Never echoed.
  if (ex.key === '' || (plan.validKeys !== null && !plan.validKeys.has(ex.key))) return ex.json(401, ACCESS_DENIED);
  if (plan.listedModels !== null && !plan.listedModels.has(call.deployment)) return ex.json(404, DEPLOYMENT_NOT_FOUND);
  const body = parseObject(text);
  if (body === null) return ex.json(400, BAD_JSON);
  bump(host.counters.byModel, call.deployment);
  const said = call.kind === 'chat' ? lastText(body) : '';
  if (said.includes('content-filter')) return ex.json(400, CONTENT_FILTERED);

  const decision = decide(b, plan.rng);
  if (decision.fault === 'timeout') {
    host.counters.timeouts++;
    return;
  }
  if (decision.fault === 'reset') return ex.reset();
  const status = decision.status;
  if (decision.fault === 'error') {
    if (status !== 429) return ex.json(status, R.faultBody(status));
    const retry: Header[] = [['retry-after', String(b.retryAfterSec)], ['retry-after-ms', String(Math.round(b.retryAfterSec * 1000))]];
    return ex.json(429, rateLimited(call, b.retryAfterSec), retry);
  }
  const malformed = decision.fault === 'malformed';
  if (malformed) host.counters.malformed++;
  const model = JSON.stringify(call.deployment);

  let out: string;
  if (call.kind === 'embeddings') {
    const items = embeddingInputs(body.input);
    if (items === null) return ex.json(400, BAD_INPUT);
    const dims = body.dimensions ?? 8;
    if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > 8192) return ex.json(400, BAD_DIMS);
    out = embeddingsBody(model, items, dims, body.encoding_format === 'base64');
  } else {
    const spec: R.CompletionSpec = {
      kind: call.kind,
      id: host.nextSeq(),
      created: Math.floor(Date.now() / 1000),
      model,
      promptTokens: R.promptTokens(call.kind, body),
      chunks: b.streamChunks,
      includeUsage: (body.stream_options as { include_usage?: unknown } | null | undefined)?.include_usage === true,
    };
    const filtered = said.includes('filter-output');
    if (body.stream === true) return streamAzure(ex, b, malformed, spec, host, filtered);
    out = R.completion(spec, plan.texts.content(answerBytes(b, body.max_tokens ?? body.max_completion_tokens)));
    if (filtered) out = out.replace(STOP, FILTERED_STOP);
    out = `${out.slice(0, -1)},${PROMPT_FILTER_RESULTS}}`;
  }
  ex.json(200, malformed ? R.truncate(out) : out);
}

/** OpenAI's events behind the filter chunk; the knobs count content chunks after both openings. */
function streamAzure(ex: Exchange, b: Behavior, malformed: boolean, spec: R.CompletionSpec, host: RouteHost, filtered: boolean): void {
  const events = [FILTER_CHUNK, ...R.streamEvents(spec, host.plan.texts)];
  if (filtered) {
    const at = 1 + R.contentStart(spec.kind) + spec.chunks;
    events[at] = events[at]!.replace(STOP, FILTERED_STOP);
  }
  const first = 1 + R.contentStart(spec.kind);
  if (malformed) {
    const broken = [...events.slice(0, first), R.truncate(events[first] ?? '') + '\n\n'];
    return ex.stream(broken, broken.length, 'truncate', b.chunkDelayMs);
  }
  const stop = streamStop(b, first, events.length);
  ex.stream(events, stop.limit, stop.end, b.chunkDelayMs, first, first + spec.chunks);
}
