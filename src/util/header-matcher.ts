// Header names given in config as exact names or `prefix*` patterns (forwardHeaders), matched
// against lower-case request header names.
export class HeaderMatcher {
  private constructor(
    private readonly exact: ReadonlySet<string>,
    private readonly prefixes: readonly string[],
    /** The patterns as given. */
    readonly patterns: readonly string[],
  ) {}

  /** The matcher for `patterns`, or null when there are none (callers then skip matching entirely). */
  static of(patterns: Iterable<string>): HeaderMatcher | null {
    const exact = new Set<string>();
    const prefixes: string[] = [];
    const all = [...patterns];
    for (const p of all) p.endsWith('*') ? prefixes.push(p.slice(0, -1)) : exact.add(p);
    return exact.size + prefixes.length === 0 ? null : new HeaderMatcher(exact, prefixes, all);
  }

  matches(name: string): boolean {
    if (this.exact.has(name)) return true;
    for (let i = 0; i < this.prefixes.length; i++) if (name.startsWith(this.prefixes[i]!)) return true;
    return false;
  }
}
