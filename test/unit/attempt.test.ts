// One upstream attempt against a fake request: what it reports to the failover loop and what it
// hands the client, when an earlier attempt of the same request got partway.
import { describe, expect, it } from 'vitest';
import { UpstreamAttempt } from '../../src/upstream/attempt.ts';
import { CODECS } from '../../src/formats/index.ts';

function fakeRequest(log: string[]) {
  const sink = {
    startStream: (c: { headSent: boolean }, status: number, h: Record<string, string>) => {
      log.push(`stream ${status} ${h['content-type']}`);
      c.headSent = true;
      return true;
    },
    endStream: () => log.push('end stream'),
    json: (_c: unknown, status: number) => log.push(`json ${status}`),
    failStream: () => log.push('fail stream'),
    writeStream: () => true,
    upstreamPaused() {},
  };
  const plan = { server: { maxResponseBytes: 1e7, maxStreamEventBytes: 1e6 }, redactor: { redactBytes: (b: Buffer) => b, redact: (t: string) => t }, bufferBudget: { take: () => true, give() {} } };
  return { endpoint: 'speech', dialect: { format: 'openai' }, aborted: false, done: false, headSent: false, relayBytes: false, streamError: null, sink, plan, priorWaitMs: 0 };
}

describe('an upstream attempt', () => {
  it("does not inherit the last attempt's answer kind: audio whose body never came, then a 503", () => {
    const log: string[] = [];
    const ctx = fakeRequest(log);
    const owner = { succeeded: (_a: unknown, status: number) => log.push(`succeeded ${status}`), failed: (_a: unknown, e: { code: string }) => log.push(`failed ${e.code}`), deadlineError: () => new Error('deadline') };
    const target = { provider: { name: 'p', codec: CODECS.openai }, model: 'tts-1' };
    const controller = { aborted: false, abort() {}, pause() {}, resume() {} };
    // A 200 audio head, then the connection drops before any byte of audio.
    const first = new UpstreamAttempt(ctx as never, owner as never, target as never, {} as never);
    first.onResponseStart(controller as never, 200, { 'content-type': 'audio/mpeg' });
    first.onResponseError(controller as never, Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }));
    // The next attempt's 503 is an error for the failover loop, not an answer relayed to the client.
    const second = new UpstreamAttempt(ctx as never, owner as never, target as never, {} as never);
    second.onResponseStart(controller as never, 503, { 'content-type': 'application/json' });
    second.onResponseData(controller as never, Buffer.from('{"error":{"message":"overloaded"}}'));
    second.onResponseEnd();
    expect(log.filter((l) => l.startsWith('succeeded') || l.startsWith('stream'))).toEqual([]);
    expect(log.filter((l) => l.startsWith('failed'))).toHaveLength(2);
  });

  it('cancelled while still queued in the pool (a shutdown), it is not sent when undici starts it', () => {
    const log: string[] = [];
    const ctx = fakeRequest(log);
    const owner = { succeeded: () => log.push('succeeded'), failed: () => log.push('failed'), deadlineError: () => new Error('deadline') };
    const target = { provider: { name: 'p', codec: CODECS.openai }, model: 'm' };
    const attempt = new UpstreamAttempt(ctx as never, owner as never, target as never, {} as never);
    const shutDown = new Error('shut down');
    attempt.abort(shutDown);
    const reasons: unknown[] = [];
    attempt.onRequestStart({ aborted: false, abort: (r: unknown) => reasons.push(r), pause() {}, resume() {} } as never);
    expect(reasons).toEqual([shutDown]);
  });

  it("an earlier attempt ending late does not overwrite the current one's upstream end (server-timing)", () => {
    const log: string[] = [];
    const ctx = { ...fakeRequest(log), attempt: null as unknown, tUpstreamEnd: 0 };
    const owner = { succeeded: () => log.push('succeeded'), failed: () => log.push('failed'), deadlineError: () => new Error('deadline') };
    const target = { provider: { name: 'p', codec: CODECS.openai }, model: 'm' };
    const controller = { aborted: false, abort() {}, pause() {}, resume() {} };
    const earlier = new UpstreamAttempt(ctx as never, owner as never, target as never, {} as never);
    const current = new UpstreamAttempt(ctx as never, owner as never, target as never, {} as never);
    ctx.attempt = current;
    earlier.onResponseError(controller as never, new Error('aborted after it failed over'));
    expect(ctx.tUpstreamEnd).toBe(0);
    current.onResponseError(controller as never, Object.assign(new Error('reset'), { code: 'UND_ERR_SOCKET' }));
    expect(ctx.tUpstreamEnd).toBeGreaterThan(0);
  });
});

