// GET /admin/requests and GET /admin/requests/:id: the request log the telemetry worker writes
// (telemetry.log), searched with the filters of `npm run logs` (telemetry/log-query.ts). Reads are
// asynchronous and bounded (the newest MAX_SCAN_BYTES of the log, newest first); answers are capped
// (MAX_LIMIT lines, without their payloads: those come with one request's detail). A replica reads
// its own log directory only.
import type { Config } from '../config/schema.ts';
import { GatewayError } from '../errors/gateway-error.ts';
import type { LogLine } from '../telemetry/log-file.ts';
import { LogFilterError, parseTime, searchLog, statusTest, type LogFilter } from '../telemetry/log-query.ts';
import type { Route } from './admin-route.ts';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;
/** A list reads at most this much of the log; one request's lookup (a cheap substring test per line) four times as much. */
const MAX_SCAN_BYTES = 64 * 1024 * 1024;

/** The filters of a query string; throws a 400 naming the parameter at fault. */
function filterOf(q: URLSearchParams, now = Date.now()): LogFilter {
  const text = (name: string): string | undefined => {
    const v = q.get(name);
    return v === null || v === '' ? undefined : v.slice(0, 256);
  };
  try {
    const status = text('status');
    const since = text('since');
    const until = text('until');
    return {
      status: status === undefined ? undefined : statusTest('status', status),
      since: since === undefined ? undefined : parseTime('since', since, now),
      until: until === undefined ? undefined : parseTime('until', until, now),
      provider: text('provider'),
      model: text('model'),
      key: text('key'),
      virtualKey: text('virtualKey'),
      rule: text('rule'),
      tag: text('tag'),
      error: text('error'),
    };
  } catch (err) {
    if (err instanceof LogFilterError) throw new GatewayError('invalid_parameter', err.message, { param: err.param });
    throw err;
  }
}

function limitOf(q: URLSearchParams): number {
  const v = q.get('limit');
  if (v === null || v === '') return DEFAULT_LIMIT;
  // Digits only (Number() reads "0x10" and "1e3" too); more than the most is the most.
  const n = /^\d{1,9}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1) throw new GatewayError('invalid_parameter', `limit: a count from 1 to ${MAX_LIMIT}.`, { param: 'limit' });
  return Math.min(n, MAX_LIMIT);
}

/** Where the log is, or the error that says there is none to read. */
function logOf(config: Config | null): { dir: string } {
  if (config === null) throw new GatewayError('not_ready', 'The request log is not known to this server (it was started without its config).');
  const t = config.telemetry;
  if (!t.enabled || !t.log.enabled) throw new GatewayError('not_found', 'No request log: telemetry.log is disabled.');
  return { dir: t.log.dir };
}

/** A line for the list: without the request and answer texts (telemetry.log.payloads). */
function summary(l: LogLine): Omit<LogLine, 'request' | 'response'> {
  const { request: _q, response: _a, ...rest } = l;
  return rest;
}

export function mountRequestLog(route: Route, config: () => Config | null): void {
  route('get', '/admin/requests', 0, async (_p, _params, _body, q) => {
    const filter = filterOf(q);
    const limit = limitOf(q);
    const log = logOf(config());
    const r = await searchLog({ dir: log.dir, filter, limit, maxScanBytes: MAX_SCAN_BYTES });
    return [200, { data: r.lines.map(summary), scannedBytes: r.scannedBytes, truncated: r.truncated, skippedLines: r.skipped }];
  });
  route('get', '/admin/requests/:id', 1, async (_p, [id]) => {
    const log = logOf(config());
    if (!/^[\w.:-]{1,128}$/.test(id!)) throw new GatewayError('invalid_parameter', 'Request ids are letters, digits, "_", ".", ":" and "-".', { param: 'id' });
    const r = await searchLog({ dir: log.dir, filter: { id }, limit: 1, maxScanBytes: 4 * MAX_SCAN_BYTES });
    const line = r.lines[0];
    if (line === undefined) throw new GatewayError('not_found', `No request '${id}' in the ${r.truncated ? 'newest part of the ' : ''}request log.`);
    return [200, line];
  });
}
