import { describe, expect, it } from 'vitest';
import { nineCharId, renameToolIds } from '../../src/formats/openai/tool-ids.ts';

describe('nine-character tool-call ids (Mistral)', () => {
  it('keeps an id that is already valid, renames any other to nine alphanumerics, deterministically', () => {
    expect(nineCharId('aB3dE6gH9')).toBe('aB3dE6gH9');
    const a = nineCharId('call_abc123');
    expect(a).toMatch(/^[a-zA-Z0-9]{9}$/);
    expect(nineCharId('call_abc123')).toBe(a);
    expect(nineCharId('call_abc124')).not.toBe(a);
  });

  it('distinct ids stay distinct across many (no collisions in 100k)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) seen.add(nineCharId(`toolu_${i}`));
    expect(seen.size).toBe(100_000);
  });

  it('renames calls and their answers alike, and reports whether anything changed', () => {
    const body = { messages: [{ role: 'assistant', tool_calls: [{ id: 'call_1' }] }, { role: 'tool', tool_call_id: 'call_1' }] };
    expect(renameToolIds(body)).toBe(true);
    expect(body.messages[1]!.tool_call_id).toBe(body.messages[0]!.tool_calls![0]!.id);
    expect(renameToolIds(body)).toBe(false);
  });
});
