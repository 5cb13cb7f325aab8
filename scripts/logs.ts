// `npm run logs -- [filters]`: search the request log (src/telemetry/log-file.ts), current and rotated
// files, and print the matching lines oldest first, as JSON lines or with --table as a compact table.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { listLogFiles, type LogLine } from '../src/telemetry/log-file.ts';
import { LogFilterError, needles, parseTime, readLine, statusTest, type LogFilter } from '../src/telemetry/log-query.ts';

const USAGE = `usage: npm run logs -- [options]
  --dir DIR          log directory (default $MICROGATE_LOG_DIR or ./logs)
  --name NAME        log file prefix (default requests)
  --status S         2xx|4xx|5xx|429|… ; several: 429,5xx
  --provider NAME    any attempt went to this provider
  --model NAME       the requested model or any attempt's model
  --key NAME         any attempt used the provider key of this name
  --virtual-key ID   the virtual key the request presented
  --rule NAME        the routing rule
  --tag TAG          a tag of a rule that matched (shadow rules too)
  --error CODE       the gateway error code
  --since T          10m|2h|1d|30s or an ISO date (inclusive)
  --until T          same forms (exclusive)
  --id ID            one request id
  --limit N          the last N matches (default 100; 0 = all)
  --table            a human table instead of JSON lines`;

function fail(msg: string): never {
  process.stderr.write(`${msg}\n${USAGE}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        dir: { type: 'string' },
        name: { type: 'string', default: 'requests' },
        status: { type: 'string' },
        provider: { type: 'string' },
        model: { type: 'string' },
        key: { type: 'string' },
        'virtual-key': { type: 'string' },
        rule: { type: 'string' },
        tag: { type: 'string' },
        error: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        id: { type: 'string' },
        limit: { type: 'string', default: '100' },
        table: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    fail((err as Error).message);
  }
}
const args = parse();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const limit = Number(args.limit);
if (!Number.isInteger(limit) || limit < 0) fail(`--limit: not a count: ${args.limit}`);
// The filters are the gateway's own (GET /admin/requests reads the same files).
let filter: LogFilter;
try {
  filter = {
    since: args.since === undefined ? undefined : parseTime('--since', args.since),
    until: args.until === undefined ? undefined : parseTime('--until', args.until),
    status: args.status === undefined ? undefined : statusTest('--status', args.status),
    provider: args.provider,
    model: args.model,
    key: args.key,
    virtualKey: args['virtual-key'],
    rule: args.rule,
    tag: args.tag,
    error: args.error,
    id: args.id,
  };
} catch (err) {
  fail(err instanceof LogFilterError ? err.message : String(err));
}

const dir = args.dir ?? process.env.MICROGATE_LOG_DIR ?? './logs';
const files = listLogFiles(dir, args.name);
if (files.length === 0) process.stderr.write(`no request log files (${args.name}*.log) in ${dir}\n`);

// The newest `limit` matches by time. Lines are written as requests finish, so start times are
// nearly but not quite in file order: keep up to 2×limit, sort, cut back to the newest `limit`.
const hits: { line: string; rec: LogLine; t: number }[] = [];
const byTime = (a: { t: number }, b: { t: number }): number => a.t - b.t;
let skipped = 0;
const wanted = needles(filter);
for (const file of files) {
  const rl = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of rl) {
    const r = readLine(line, filter, wanted);
    if (r === 'bad') skipped++;
    if (r === 'bad' || r === 'skip') continue;
    const { rec, t } = r;
    hits.push({ line, rec, t });
    if (limit > 0 && hits.length >= 2 * limit) hits.sort(byTime).splice(0, hits.length - limit);
  }
}
const sorted = hits.sort(byTime);
const shown = limit > 0 ? sorted.slice(-limit) : sorted;
if (skipped > 0) process.stderr.write(`skipped ${skipped} unparsable line${skipped === 1 ? '' : 's'}\n`);

/** Attempts as `target`, failed ones with their status or flag: `a/x(503) → b/y`. */
function route(r: LogLine): string {
  return r.attempts.map((a) => (a.status >= 200 && a.status < 300 ? a.target : `${a.target}(${a.status || a.flag || '?'})`)).join(' → ') || '-';
}

function table(): string {
  const rows = shown.map(({ rec: r }) => [
    r.time.replace('T', ' ').replace('Z', ''),
    String(r.status),
    (r.totalUs / 1000).toFixed(1),
    route(r),
    r.requestedModel,
    [r.error, r.streamFailed ? 'stream-failed' : '', r.aborted ? 'aborted' : ''].filter(Boolean).join(' ') || '-',
  ]);
  const head = ['time', 'status', 'ms', 'route', 'model', 'error'];
  const right = [false, true, true, false, false, false];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (row: string[]): string =>
    row
      .map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n') + '\n';
}

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0); // `| head`
  throw err;
});
if (args.table) process.stdout.write(table());
else if (shown.length > 0) process.stdout.write(shown.map((h) => h.line).join('\n') + '\n');
