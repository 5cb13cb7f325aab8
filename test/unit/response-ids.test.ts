// Sealed Responses API ids (formats/responses/ids.ts): what the gateway hands out opens back to where
// the response is stored and whom it was made for, and nothing else opens.
import { describe, expect, it } from 'vitest';
import { ResponseIds, responseIdIn, swapId } from '../../src/formats/responses/ids.ts';
import { compilePlan } from '../../src/config/compile.ts';
import { validateConfig } from '../../src/config/load.ts';
import { SharedState } from '../../src/state/shared-state.ts';

const ORIGIN = { provider: 'openai', key: 'k1', owner: 'alice', id: 'resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b' };

describe('ResponseIds', () => {
  const ids = new ResponseIds(Buffer.alloc(32, 7));

  it('opens what it sealed; an OpenAI id is not one of its own', () => {
    const sealed = ids.seal(ORIGIN);
    expect(sealed).toMatch(/^resp_mg[A-Za-z0-9_-]+$/);
    expect(ids.open(sealed)).toEqual(ORIGIN);
    expect(ids.open(ORIGIN.id)).toBeNull();
  });

  it('refuses an altered id, one sealed with another secret, and a bare prefix', () => {
    const sealed = ids.seal(ORIGIN);
    const flipped = sealed.slice(0, 10) + (sealed[10] === 'A' ? 'B' : 'A') + sealed.slice(11);
    expect(ids.open(flipped)).toBe('forged');
    expect(new ResponseIds(Buffer.alloc(32, 8)).open(sealed)).toBe('forged');
    expect(ids.open('resp_mg')).toBe('forged');
    // Another owner cannot be written into the payload without the secret.
    const payload = Buffer.from(JSON.stringify(['openai', 'k1', 'bob', ORIGIN.id])).toString('base64url');
    expect(ids.open(`resp_mg${payload}${sealed.slice(-22)}`)).toBe('forged');
  });

  it("finds the response's own id, not the previous one it echoes, and swaps whole quoted ids only", () => {
    const body = `{"previous_response_id":"resp_aaa","id":"resp_bbb","object":"response"}`;
    expect(responseIdIn(body)).toBe('resp_bbb');
    const swapped = swapId(Buffer.from(`{"id":"resp_bbb","x":"resp_bbbb","y":["resp_bbb"]}`), 'resp_bbb', 'resp_mgZ');
    expect(swapped.toString()).toBe(`{"id":"resp_mgZ","x":"resp_bbbb","y":["resp_mgZ"]}`);
  });

  it("every thread of a process seals alike; replicas alike only with a configured secret or admin key", () => {
    const config = (governance: Record<string, unknown> = {}) =>
      validateConfig({ version: 1, providers: { openai: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k1', value: 'sk-0123456789abcdef' }] } }, governance }, {});
    const shared = new SharedState(2);
    const plans = [compilePlan(config(), { shared }), compilePlan(config(), { shared: SharedState.of(shared.buffers) })];
    expect(plans[1]!.responseIds.open(plans[0]!.responseIds.seal(ORIGIN))).toEqual(ORIGIN);
    const otherProcess = compilePlan(config(), { shared: new SharedState(1) });
    expect(otherProcess.responseIds.open(plans[0]!.responseIds.seal(ORIGIN))).toBe('forged');
    const a = compilePlan(config({ idSecret: 'a-secret-of-32-characters-or-so' }), { shared: new SharedState(1) });
    const b = compilePlan(config({ idSecret: 'a-secret-of-32-characters-or-so' }), { shared: new SharedState(1) });
    expect(b.responseIds.open(a.responseIds.seal(ORIGIN))).toEqual(ORIGIN);
    expect(() => config({ idSecret: 'too-short' })).toThrow(/governance\.idSecret: must be at least 16 characters/);
    return Promise.all([...plans, otherProcess, a, b].map((p) => p.close()));
  });
});
