// The small JSON bodies of the admin API and the dashboard's login, read off a uWS response.
//
// The body is read to its end before anything is answered, a refusal included: uWS would otherwise
// parse the unread rest as the next request on the connection. Past `max` bytes nothing more is kept,
// and past HARD_LIMIT × max the client is sending far too much to wait for: it is answered at once and
// the connection closed (app.ts drains a proxied request's refused body the same way).
import type { HttpResponse } from 'uWebSockets.js';
import { GatewayError } from '../errors/gateway-error.ts';

const HARD_LIMIT = 16;

export interface SmallJsonBody {
  /** The parsed body; undefined when it was empty. */
  value: unknown;
  /** Why it cannot be used (too large, not JSON); null when it can. */
  error: GatewayError | null;
  /** The answer must close the connection (the body was not read to its end). */
  close: boolean;
}

/**
 * Calls `done` once: when the body has ended, or when it passed HARD_LIMIT × max. The caller registers
 * res.onAborted itself (uWS needs it before any asynchronous answer) and checks it in `done`.
 */
export function readSmallJson(res: HttpResponse, max: number, tooLarge: string, notJson: string, done: (body: SmallJsonBody) => void): void {
  const parts: Buffer[] = [];
  let size = 0;
  let finished = false;
  res.onData((chunk, last) => {
    if (finished) return;
    size += chunk.byteLength;
    if (size <= max) parts.push(Buffer.from(chunk.slice(0)));
    if (!last && size <= HARD_LIMIT * max) return;
    finished = true;
    if (size > max) return done({ value: undefined, error: new GatewayError('request_too_large', tooLarge), close: !last });
    let value: unknown;
    try {
      value = size === 0 ? undefined : (JSON.parse(Buffer.concat(parts).toString('utf8')) as unknown);
    } catch {
      return done({ value: undefined, error: new GatewayError('invalid_json', notJson), close: false });
    }
    done({ value, error: null, close: false });
  });
}
