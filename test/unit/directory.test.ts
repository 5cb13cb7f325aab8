// The directory of virtual keys built from a stored snapshot that names a team no longer there
// (governance/directory.ts): the record is left out, and access stays denied by default.
import { expect, it } from 'vitest';
import { Directory } from '../../src/governance/directory.ts';

it('a key left out for a dangling team still keeps access denied by default, and the config refuses one outright', () => {
  const src = { customers: [], teams: [], virtualKeys: [{ id: 'k', digest: 'd', team: 'gone', limits: {}, source: 'api' as const }] };
  const d = new Directory(src, true);
  expect(d.keys.size).toBe(0);
  expect(d.skipped).toEqual(['virtual key "k": unknown team "gone"']);
  expect(d.enforced).toBe(true);
  expect(() => new Directory(src)).toThrow(/unknown team "gone"/);
  expect(() => new Directory({ ...src, virtualKeys: [{ ...src.virtualKeys[0]!, source: 'config' as const }] }, true)).toThrow(/unknown team/);
});
