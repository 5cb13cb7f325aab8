// Server-sent events, both ways: whole events (util/sse-framer.ts cuts the stream at blank lines)
// read into name and data, and events written. https://html.spec.whatwg.org/multipage/server-sent-events.html

/**
 * Calls `each(event, data)` for every event in `text` (whole events only). Multiple `data:` lines are
 * joined with "\n"; comments (":") and events without data are skipped; a missing name is ''.
 */
export function forEachEvent(text: string, each: (event: string, data: string) => void): void {
  let i = 0;
  const n = text.length;
  let event = '';
  let data: string | null = null;
  while (i < n) {
    let end = text.indexOf('\n', i);
    if (end < 0) end = n;
    const lineEnd = end > i && text.charCodeAt(end - 1) === 13 ? end - 1 : end;
    if (lineEnd === i) {
      // A blank line dispatches the event.
      if (data !== null) each(event, data);
      event = '';
      data = null;
    } else {
      const c = text.charCodeAt(i);
      if (c === 100 && text.startsWith('data:', i)) {
        const v = text.slice(text.charCodeAt(i + 5) === 32 ? i + 6 : i + 5, lineEnd);
        data = data === null ? v : `${data}\n${v}`;
      } else if (c === 101 && text.startsWith('event:', i)) {
        event = text.slice(text.charCodeAt(i + 6) === 32 ? i + 7 : i + 6, lineEnd);
      }
      // ":" comments, id:, retry: and unknown fields are ignored.
    }
    i = end + 1;
  }
  if (data !== null) each(event, data);
}

/** One event with a JSON payload: `event: name` (when given) and `data: …`. */
export function sseEvent(name: string, json: string): string {
  return name === '' ? `data: ${json}\n\n` : `event: ${name}\ndata: ${json}\n\n`;
}
