// One finished request as a fixed 576-byte slot in a SharedArrayBuffer ring: written by the request
// thread with a DataView (no object, no JSON, no string building: ~20 ns for the numbers plus the two
// short strings), read and decoded by the telemetry worker. Names travel as small ids; the worker
// holds the dictionaries (telemetry/dictionary.ts).
//
//   offset  type  field                      offset  type  field
//   0       f64   start (epoch ms)           32      i32   prompt tokens (-1 unknown)
//   8       u32   total µs                   36      i32   completion tokens
//   12      u32   gateway µs                 40      u16   rule id (0 none)
//   16      u32   upstream µs                42      u8    request id length
//   20      u32   time to first byte µs      43      u8    requested model length
//   24      u16   status                     44      u8    client dialect (0 openai, 1 anthropic, 2 responses)
//                                              45..47  u8 ×3 virtual key, team, customer id lengths
//   26      u16   error code id (0 none)     48      8 × attempt: u16 target id, u16 key id,
//   28      u8    endpoint id                              u16 status, u8 flag id, u8 -, u32 µs
//                                              55      u8    plan generation (attempt 0's spare byte)
//   29      u8    flags (stream, aborted,    144     64 B  request id (ASCII)
//                 stream failed)             208     128 B requested model (UTF-8)
//   30      u8    tier (0 none, 1..4)
//   31      u8    attempts recorded                        336     f64   cost USD (-1 unknown)
//                                                         344     3 × 56 B virtual key, team, customer ids
//                                                         512     u8    rules matched (recorded: ≤ 16)
//                                                         514     16 × u16 their ids (index + 1), in order
import { ERROR_CODES, type ErrorCode } from '../errors/codes.ts';
import type { RequestContext } from '../request/context.ts';
import type { AttemptRecord, TelemetryRecord } from './types.ts';

export const SLOT_BYTES = 576;
export const MAX_ATTEMPTS = 8;
const ATTEMPT_BASE = 48;
const ATTEMPT_BYTES = 12;
/** The plan a record was made on (its generation, mod 256): its ids are that plan's (hot reload). */
const GENERATION_AT = ATTEMPT_BASE + 7;
const ID_AT = 144;
const ID_MAX = 64;
const MODEL_AT = 208;
const MODEL_MAX = 128;
const COST_AT = 336;
const TENANT_AT = 344;
const TENANT_MAX = 56;
/** Every rule that matched, shadow ones included, for their tags: the deciding rule alone (offset 40) says nothing of a shadow rule. */
const MATCHED_AT = 512;
const MATCHED_IDS_AT = 514;
export const MAX_MATCHED = 16;

const FLAG_STREAM = 1;
const FLAG_ABORTED = 2;
const FLAG_STREAM_FAILED = 4;

export const ENDPOINTS = ['chat', 'completions', 'embeddings', 'responses', 'moderations', 'images', 'speech', 'transcriptions', 'translations', 'files', 'batches', 'count_tokens'] as const;
export const DIALECTS = ['openai', 'anthropic', 'responses'] as const;
const DIALECT_CODE: Readonly<Record<(typeof DIALECTS)[number], number>> = { openai: 0, anthropic: 1, responses: 2 };
export const TIERS = ['', 'SIMPLE', 'MEDIUM', 'COMPLEX', 'REASONING'] as const;
export const ERROR_LIST: readonly ErrorCode[] = Object.keys(ERROR_CODES) as ErrorCode[];
/**
 * Failure causes of attempts without a status: the Envoy-style flags of errors/codes.ts, and DC (Envoy's
 * too: the client left while the attempt was in flight). Appended only: the ids are in the ring's records.
 */
export const ATTEMPT_FLAGS: readonly string[] = ['', ...new Set(Object.values(ERROR_CODES).map((s) => s.flag)), 'DC'];

const ERROR_ID = new Map<string, number>(ERROR_LIST.map((c, i) => [c, i + 1]));
const FLAG_ID = new Map<string, number>(ATTEMPT_FLAGS.map((f, i) => [f, i]));
const ENDPOINT_ID = new Map<string, number>(ENDPOINTS.map((e, i) => [e, i]));
const TIER_ID = new Map<string, number>(TIERS.map((t, i) => [t, i]));

/** Writes an ASCII/UTF-8 string into `max` bytes at `at`; returns the bytes written (cut at max). */
function putString(u8: Uint8Array, at: number, s: string, max: number): number {
  const n = Math.min(s.length, max);
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) break;
    u8[at + i] = c;
  }
  if (i === n) return n;
  // Rare: non-ASCII model names. encodeInto never writes a partial character.
  return i + encoder.encodeInto(s.slice(i), u8.subarray(at + i, at + max)).written;
}
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const timeOrigin = performance.timeOrigin;

/** Encodes a finished request into the slot at `o`. */
export function encodeRecord(dv: DataView, u8: Uint8Array, o: number, ctx: RequestContext): void {
  const end = ctx.tEnd;
  dv.setFloat64(o, timeOrigin + ctx.t0, true);
  dv.setUint32(o + 8, Math.max(0, Math.round((end - ctx.t0) * 1000)), true);
  dv.setUint32(o + 12, ctx.aborted ? 0 : ctx.gatewayMicros(), true);
  dv.setUint32(o + 16, Math.max(0, Math.round(ctx.upstreamWaitMs(end) * 1000)), true);
  dv.setUint32(o + 20, ctx.tFirstWrite === 0 ? 0 : Math.round((ctx.tFirstWrite - ctx.t0) * 1000), true);
  dv.setUint16(o + 24, ctx.aborted ? 0 : ctx.status, true);
  dv.setUint16(o + 26, ctx.error === null ? 0 : (ERROR_ID.get(ctx.error.code) ?? 0), true);
  u8[o + 28] = ENDPOINT_ID.get(ctx.endpoint) ?? 0;
  u8[o + 29] = (ctx.stream ? FLAG_STREAM : 0) | (ctx.aborted ? FLAG_ABORTED : 0) | (ctx.headSent && ctx.error !== null ? FLAG_STREAM_FAILED : 0);
  const tier = ctx.classifiedTier;
  u8[o + 30] = tier === null ? 0 : (TIER_ID.get(tier) ?? 0);
  dv.setInt32(o + 32, ctx.promptTokens, true);
  dv.setInt32(o + 36, ctx.completionTokens, true);
  const rules = ctx.rules;
  const rule = rules?.rule;
  dv.setUint16(o + 40, rule === null || rule === undefined ? 0 : rule.index + 1, true);
  const matched = rules === null || rules === undefined ? 0 : Math.min(rules.matched.length, MAX_MATCHED);
  u8[o + MATCHED_AT] = matched;
  for (let i = 0; i < matched; i++) dv.setUint16(o + MATCHED_IDS_AT + 2 * i, rules!.matched[i]!.index + 1, true);
  const attempts = ctx.failover?.records;
  const n = attempts === undefined ? 0 : Math.min(attempts.length, MAX_ATTEMPTS);
  u8[o + 31] = n;
  u8[o + GENERATION_AT] = ctx.plan.generation & 0xff;
  for (let i = 0; i < n; i++) {
    const a = attempts![i]!;
    const p = o + ATTEMPT_BASE + i * ATTEMPT_BYTES;
    dv.setUint16(p, a.target.id ?? 0, true);
    dv.setUint16(p + 2, a.key.id, true);
    dv.setUint16(p + 4, a.status, true);
    u8[p + 6] = FLAG_ID.get(a.flag) ?? 0;
    dv.setUint32(p + 8, Math.max(0, Math.round(a.ms * 1000)), true);
  }
  u8[o + 42] = putString(u8, o + ID_AT, ctx.id, ID_MAX);
  u8[o + 43] = putString(u8, o + MODEL_AT, ctx.model, MODEL_MAX);
  u8[o + 44] = DIALECT_CODE[ctx.dialect.format];
  dv.setFloat64(o + COST_AT, ctx.costUsd < 0 ? -1 : ctx.costUsd, true);
  const t = ctx.tenant;
  u8[o + 45] = t.virtualKey === '' ? 0 : putString(u8, o + TENANT_AT, t.virtualKey, TENANT_MAX);
  u8[o + 46] = t.team === '' ? 0 : putString(u8, o + TENANT_AT + TENANT_MAX, t.team, TENANT_MAX);
  u8[o + 47] = t.customer === '' ? 0 : putString(u8, o + TENANT_AT + 2 * TENANT_MAX, t.customer, TENANT_MAX);
}

/** Which plan's names the ids of the record at `o` are (mod 256). */
export const generationOf = (u8: Uint8Array, o: number): number => u8[o + GENERATION_AT]!;

/** Names for the ids in a slot. Targets appear at run time, so the worker's copy grows. */
export interface Dictionary {
  targets: Array<{ label: string; provider: string; model: string } | undefined>;
  keys: Array<string | undefined>;
  rules: string[];
  /** Each rule's tag, by the same index ('' for none). */
  tags: string[];
}

export function decodeRecord(dv: DataView, u8: Uint8Array, o: number, dict: Dictionary): TelemetryRecord {
  const n = u8[o + 31]!;
  const attempts: AttemptRecord[] = [];
  for (let i = 0; i < n; i++) {
    const p = o + ATTEMPT_BASE + i * ATTEMPT_BYTES;
    const t = dict.targets[dv.getUint16(p, true)];
    attempts.push({
      target: t?.label ?? 'unknown',
      provider: t?.provider ?? 'unknown',
      model: t?.model ?? 'unknown',
      key: dict.keys[dv.getUint16(p + 2, true)] ?? 'unknown',
      status: dv.getUint16(p + 4, true),
      flag: ATTEMPT_FLAGS[u8[p + 6]!] ?? '',
      latencyUs: dv.getUint32(p + 8, true),
    });
  }
  const flags = u8[o + 29]!;
  const rule = dv.getUint16(o + 40, true);
  const promptTokens = dv.getInt32(o + 32, true);
  const completionTokens = dv.getInt32(o + 36, true);
  const error = dv.getUint16(o + 26, true);
  const matched: string[] = [];
  const tags: string[] = [];
  for (let i = 0, n = Math.min(u8[o + MATCHED_AT]!, MAX_MATCHED); i < n; i++) {
    const id = dv.getUint16(o + MATCHED_IDS_AT + 2 * i, true) - 1;
    const name = dict.rules[id];
    if (name === undefined) continue;
    matched.push(name);
    const tag = dict.tags[id] ?? '';
    if (tag !== '' && !tags.includes(tag)) tags.push(tag);
  }
  return {
    id: decoder.decode(u8.subarray(o + ID_AT, o + ID_AT + u8[o + 42]!)),
    start: dv.getFloat64(o, true),
    endpoint: ENDPOINTS[u8[o + 28]!] ?? 'chat',
    dialect: DIALECTS[u8[o + 44]!] ?? 'openai',
    requestedModel: decoder.decode(u8.subarray(o + MODEL_AT, o + MODEL_AT + u8[o + 43]!)),
    status: dv.getUint16(o + 24, true),
    error: error === 0 ? '' : (ERROR_LIST[error - 1] ?? ''),
    stream: (flags & FLAG_STREAM) !== 0,
    streamFailed: (flags & FLAG_STREAM_FAILED) !== 0,
    aborted: (flags & FLAG_ABORTED) !== 0,
    totalUs: dv.getUint32(o + 8, true),
    gatewayUs: dv.getUint32(o + 12, true),
    upstreamUs: dv.getUint32(o + 16, true),
    ttfbUs: dv.getUint32(o + 20, true),
    rule: rule === 0 ? '' : (dict.rules[rule - 1] ?? ''),
    matched,
    tags,
    tier: TIERS[u8[o + 30]!] ?? '',
    attempts,
    promptTokens,
    completionTokens,
    // Priced on the request thread (pipeline/govern.ts), where budgets are charged from the same figure.
    cost: dv.getFloat64(o + COST_AT, true),
    tenant: {
      virtualKey: decoder.decode(u8.subarray(o + TENANT_AT, o + TENANT_AT + u8[o + 45]!)),
      team: decoder.decode(u8.subarray(o + TENANT_AT + TENANT_MAX, o + TENANT_AT + TENANT_MAX + u8[o + 46]!)),
      customer: decoder.decode(u8.subarray(o + TENANT_AT + 2 * TENANT_MAX, o + TENANT_AT + 2 * TENANT_MAX + u8[o + 47]!)),
    },
  };
}
