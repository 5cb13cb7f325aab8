// The load generator counts an answer as failed over when x-microgate-route names more than one target;
// a rule's "rule:… tier:…" prefix is not a target (README "Failover", "Routing rules").
import { expect, it } from 'vitest';
import { hops } from '../../loadtest/pacer.ts';

it('counts the targets in a route header, not its rule prefix', () => {
  expect(hops('openai/gpt-4o#k1:200')).toBe(1);
  expect(hops('openai/gpt-4o#k1:429 > openai/gpt-4o#k2:200')).toBe(2);
  expect(hops('flaky/mock-small:resting > groq/mock-small#g:200')).toBe(2);
  expect(hops('rule:cheap tier:SIMPLE > groq/llama#k1:200')).toBe(1);
  expect(hops('tier:COMPLEX > broken/x:open > openai/gpt-4o#k1:200')).toBe(2);
});
