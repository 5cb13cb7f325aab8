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

  it('refuses an altered id and one sealed with another secret; the provider id inside cannot be read', () => {
    const sealed = ids.seal(ORIGIN);
    const flipped = sealed.slice(0, 20) + (sealed[20] === 'A' ? 'B' : 'A') + sealed.slice(21);
    expect(ids.open(flipped)).toBe('forged');
    expect(new ResponseIds(Buffer.alloc(32, 8)).open(sealed)).toBe('forged');
    expect(ids.open('resp_mg')).toBe('forged');
    expect(ids.open(`resp_mg${'A'.repeat(40)}`)).toBe('forged');
    // Encrypted: neither the provider's id nor the key's or owner's names show through.
    const decoded = Buffer.from(sealed.slice('resp_mg'.length), 'base64url').toString('latin1');
    for (const inside of [ORIGIN.id, 'openai', 'alice', '67ccd2bed1ec']) expect(decoded).not.toContain(inside);
  });

  it("reads the response's own id only: the top-level id, or the first event's response.id", () => {
    const echoedFirst = Buffer.from(`{"metadata":{"id":"resp_chosen"},"previous_response_id":"resp_aaa","id":"resp_bbb","object":"response"}`);
    expect(responseIdIn(echoedFirst, false)).toBe('resp_bbb');
    expect(responseIdIn(Buffer.from(`{"object":"response","metadata":{"id":"resp_chosen"}}`), false)).toBeNull();
    const events = Buffer.from(`event: response.created\ndata: {"type":"response.created","response":{"metadata":{"id":"resp_chosen"},"id":"resp_ccc"}}\n\n`);
    expect(responseIdIn(events, true)).toBe('resp_ccc');
    const swapped = swapId(Buffer.from(`{"id":"resp_bbb","x":"resp_bbbb","y":["resp_bbb"]}`), 'resp_bbb', 'resp_mgZ');
    expect(swapped.toString()).toBe(`{"id":"resp_mgZ","x":"resp_bbbb","y":["resp_mgZ"]}`);
  });

  it('every thread of a process seals alike; replicas alike only with a configured secret, never one taken from the admin key', () => {
    const config = (governance: Record<string, unknown> = {}) =>
      validateConfig({ version: 1, providers: { openai: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k1', value: 'sk-0123456789abcdef' }] } }, governance }, {});
    const shared = new SharedState(2);
    const plans = [compilePlan(config(), { shared }), compilePlan(config(), { shared: SharedState.of(shared.buffers) })];
    expect(plans[1]!.responseIds.open(plans[0]!.responseIds.seal(ORIGIN))).toEqual(ORIGIN);
    const otherProcess = compilePlan(config(), { shared: new SharedState(1) });
    expect(otherProcess.responseIds.open(plans[0]!.responseIds.seal(ORIGIN))).toBe('forged');
    const secret = 'Zq3v9K0s1mN8xY2wR5tU7pL4hJ6gF0dA';
    const a = compilePlan(config({ idSecret: secret }), { shared: new SharedState(1) });
    const b = compilePlan(config({ idSecret: secret }), { shared: new SharedState(1) });
    expect(b.responseIds.open(a.responseIds.seal(ORIGIN))).toEqual(ORIGIN);
    // The same admin key does not make two processes agree: ids are not keyed by a credential.
    const c = compilePlan(config({ adminKey: 'admin-key-0123456789abcdef' }), { shared: new SharedState(1) });
    const d = compilePlan(config({ adminKey: 'admin-key-0123456789abcdef' }), { shared: new SharedState(1) });
    expect(d.responseIds.open(c.responseIds.seal(ORIGIN))).toBe('forged');
    expect(() => config({ idSecret: 'sixteen-chars-16' })).toThrow(/governance\.idSecret: must be at least 32 characters/);
    // Rotation: the old secret moves to previousIdSecrets; what it sealed still opens, and new ids are the new secret's.
    const rotated = compilePlan(config({ idSecret: 'N3w-secret-0123456789abcdefghijklmn', previousIdSecrets: [secret] }), { shared: new SharedState(1) });
    expect(rotated.responseIds.open(a.responseIds.seal(ORIGIN))).toEqual(ORIGIN);
    expect(rotated.resourceIds.files.open(a.resourceIds.files.seal(ORIGIN))).toEqual(ORIGIN);
    expect(a.responseIds.open(rotated.responseIds.seal(ORIGIN))).toBe('forged');
    expect(() => config({ idSecret: secret, previousIdSecrets: ['short'] })).toThrow(/previousIdSecrets\[0\]: must be at least 32 characters/);
    expect(() => config({ previousIdSecrets: [secret] })).toThrow(/previousIdSecrets: needs governance\.idSecret/);
    return Promise.all([...plans, otherProcess, a, b, c, d, rotated].map((p) => p.close()));
  });
});

describe('continueStoredResponse', () => {
  it("without virtual keys, a provider's own id goes on as it is, to whichever key the route picks", async () => {
    const { continueStoredResponse } = await import('../../src/pipeline/continuation.ts');
    const ctx = { endpoint: 'responses', body: { previous_response_id: 'resp_0123abcd' }, vk: null, plan: { responseIds: new ResponseIds(Buffer.alloc(32, 1)) }, targets: ['t'], previousResponse: null };
    continueStoredResponse(ctx as never);
    expect(ctx.targets).toEqual(['t']);
    expect(ctx.previousResponse).toBeNull();
  });
});
