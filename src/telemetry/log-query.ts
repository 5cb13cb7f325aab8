// Searching the request log (telemetry/log-file.ts): the filters `npm run logs` and GET /admin/requests
// share, and a bounded, asynchronous search for the gateway. The gateway reads the newest files first
// and at most `maxScanBytes` of them (the tail of the last file it reaches), through a read stream, so
// a search of a large log neither blocks the event loop nor reads the whole disk.
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { logFilesAmong, rotatedAt, type LogLine } from './log-file.ts';

/** What a line must match; absent members match anything. */
export interface LogFilter {
  status?: (status: number) => boolean;
  /** Any attempt went to this provider. */
  provider?: string;
  /** The requested model or any attempt's model. */
  model?: string;
  /** Any attempt used the provider key of this name. */
  key?: string;
  /** The virtual key (its id) the request presented. */
  virtualKey?: string;
  rule?: string;
  /** A tag of a rule that matched (shadow rules too). */
  tag?: string;
  /** The gateway error code. */
  error?: string;
  id?: string;
  /** Start time, ms since the epoch: since inclusive, until exclusive. */
  since?: number;
  until?: number;
}

/** A filter's value the user got wrong; `param` names it. */
export class LogFilterError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
  }
}

/** `10m` → now − 10 min (ms, s, m, h, d); otherwise an ISO date or ms since the epoch. */
export function parseTime(param: string, s: string, now = Date.now()): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s);
  if (m) return now - Number(m[1]) * { ms: 1, s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  const t = /^\d{10,}$/.test(s) ? Number(s) : Date.parse(s);
  if (Number.isNaN(t)) throw new LogFilterError(param, `${param}: not a duration (10m, 2h, 1d) or a date: ${s.slice(0, 100)}`);
  return t;
}

/** `2xx`, `429`, `4xx,5xx` → a test on the status. */
export function statusTest(param: string, spec: string): (status: number) => boolean {
  const tests = spec.split(',').map((p): ((s: number) => boolean) => {
    const cls = /^([1-5])xx$/i.exec(p);
    if (cls) return (s) => Math.floor(s / 100) === Number(cls[1]);
    if (/^\d{3}$/.test(p)) return (s) => s === Number(p);
    throw new LogFilterError(param, `${param}: expected 2xx|4xx|5xx or a status code: ${p.slice(0, 20)}`);
  });
  return (s) => tests.some((t) => t(s));
}

function matches(r: LogLine, t: number, f: LogFilter): boolean {
  return (
    (f.since === undefined || t >= f.since) &&
    (f.until === undefined || t < f.until) &&
    (f.id === undefined || r.id === f.id) &&
    (f.status === undefined || f.status(r.status)) &&
    (f.provider === undefined || r.attempts.some((a) => a.provider === f.provider)) &&
    (f.model === undefined || r.requestedModel === f.model || r.attempts.some((a) => a.model === f.model)) &&
    (f.key === undefined || r.attempts.some((a) => a.key === f.key)) &&
    (f.virtualKey === undefined || r.tenant?.virtualKey === f.virtualKey) &&
    (f.rule === undefined || r.rule === f.rule) &&
    (f.tag === undefined || (Array.isArray(r.tags) && r.tags.includes(f.tag))) &&
    (f.error === undefined || r.error === f.error)
  );
}

/** The strings a matching line must contain, as JSON writes them: a cheap test before JSON.parse. */
export function needles(f: LogFilter): string[] {
  return [f.id, f.provider, f.model, f.key, f.virtualKey, f.rule, f.tag, f.error].filter((v): v is string => v !== undefined).map((v) => JSON.stringify(v));
}

/**
 * One line of the log: the parsed record and its start time when it matches `f`, 'skip' when it does
 * not, 'bad' when it is not a log line.
 */
export function readLine(line: string, f: LogFilter, wanted: readonly string[]): { rec: LogLine; t: number } | 'skip' | 'bad' {
  if (line === '') return 'skip';
  for (const n of wanted) if (!line.includes(n)) return 'skip';
  let rec: LogLine;
  try {
    rec = JSON.parse(line) as LogLine;
  } catch {
    return 'bad';
  }
  if (typeof rec !== 'object' || rec === null || typeof rec.time !== 'string' || !Array.isArray(rec.attempts)) return 'bad';
  const t = Date.parse(rec.time);
  return matches(rec, t, f) ? { rec, t } : 'skip';
}

export interface SearchOptions {
  dir: string;
  name?: string;
  filter: LogFilter;
  /** The newest `limit` matches. */
  limit: number;
  /** Bytes read at most, newest first. */
  maxScanBytes: number;
}

export interface SearchResult {
  /** Newest first. */
  lines: LogLine[];
  scannedBytes: number;
  /** Older lines were left unread (the scan budget ran out). */
  truncated: boolean;
  /** Lines that were not log lines. */
  skipped: number;
}

/** A rotated file's stamp (the moment it was rotated: nothing in it is later), or Infinity for the current file. */
function endOf(file: string, name: string): number {
  const t = rotatedAt(basename(file), name);
  return Number.isNaN(t) ? Infinity : t;
}

/**
 * The newest matches, reading files newest first until `limit` matches are found or the scan budget
 * is spent. Lines are written as requests finish, so start times are nearly but not quite in file
 * order: every line of a file read is considered, then all are sorted by start time.
 */
export async function searchLog(o: SearchOptions): Promise<SearchResult> {
  const name = o.name ?? 'requests';
  // Listed without blocking: this runs on a request thread, answering GET /admin/requests.
  const files = logFilesAmong(await readdir(o.dir).catch(() => []), o.dir, name).reverse();
  const wanted = needles(o.filter);
  const hits: { rec: LogLine; t: number }[] = [];
  let budget = o.maxScanBytes;
  let scanned = 0;
  let skipped = 0;
  let truncated = false;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    // A rotated file holds nothing after its stamp (plus the moment of writing): too old to match.
    if (o.filter.since !== undefined && endOf(file, name) + 60_000 < o.filter.since) break;
    if (budget <= 0) {
      truncated = true;
      break;
    }
    let size: number;
    try {
      size = (await stat(file)).size;
    } catch {
      continue; // rotated away or pruned since it was listed
    }
    if (size === 0) continue;
    const start = Math.max(0, size - budget);
    if (start > 0) truncated = true;
    budget -= size - start;
    scanned += size - start;
    const rl = createInterface({ input: createReadStream(file, { start, end: Math.max(0, size - 1), highWaterMark: 256 * 1024 }), crlfDelay: Infinity });
    let first = start > 0;
    try {
      for await (const line of rl) {
        // Reading from the middle of a file: the first line is a piece of one.
        if (first) {
          first = false;
          continue;
        }
        const r = readLine(line, o.filter, wanted);
        if (r === 'bad') skipped++;
        else if (r !== 'skip') hits.push(r);
      }
    } catch {
      // a file pruned while read: what was read counts
    }
    if (hits.length >= o.limit) break;
  }
  hits.sort((a, b) => b.t - a.t);
  return { lines: hits.slice(0, o.limit).map((h) => h.rec), scannedBytes: scanned, truncated, skipped };
}
