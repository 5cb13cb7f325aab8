// CEL's `matches()` runs on text a client chooses (a header, a body field), and cel-js evaluates it
// with V8's backtracking RegExp (`new RegExp(pattern).test(text)`, lib/functions.js). A pattern with
// nested quantifiers, `(a+)+$`, then lets one request hold a request thread for as long as it likes
// (2^n steps for n characters). The CEL spec defines `matches()` over RE2, which runs in linear time;
// two measures give the same guarantee here:
//   - V8's own linear-time engine takes over from a match that backtracks too much (the flags below,
//     process-wide, so request threads have them too; measured: 40 characters against `(a+)+$` in
//     about 1 ms instead of hours);
//   - at load, every pattern must be a string literal that engine can run: no backreferences and no
//     lookaround (RE2 has neither), and never a value from the request, which could be anything.
import { setFlagsFromString } from 'node:v8';
import type { ASTNode } from '@marcbachmann/cel-js';

setFlagsFromString('--enable-experimental-regexp-engine');
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/**
 * Whether this V8 took the flags: an unknown flag is only a line on stderr, never an error. Both
 * arrived with the same engine (V8 8.8), so the "l" flag compiling says the fallback is there too.
 */
const LINEAR_ENGINE = ((): boolean => {
  try {
    new RegExp('a', 'l');
    return true;
  } catch {
    return false;
  }
})();

/** Why each `matches()` of the expression is refused; empty when all are literal linear-time patterns. */
export function patternProblems(root: ASTNode): string[] {
  const out: string[] = [];
  const walk = (n: ASTNode): void => {
    const args = n.args as unknown;
    let pattern: ASTNode | undefined;
    // "text.matches(p)" is an rcall [name, receiver, [p]] (cel-js declares no global matches(text, p)).
    if (n.op === 'rcall' && n.args[0] === 'matches') pattern = (n.args[2] as ASTNode[])[0];
    if (pattern !== undefined) {
      if (!LINEAR_ENGINE) out.push('matches() is unavailable: this Node has no linear-time regex engine to run it safely');
      else if (pattern.op !== 'value' || typeof pattern.args !== 'string') out.push('matches() takes a string literal as its pattern, not a value computed per request');
      else {
        try {
          // The "l" flag compiles for the linear-time engine, and refuses what it cannot run.
          new RegExp(pattern.args, 'l');
        } catch (err) {
          out.push(`matches(${JSON.stringify(pattern.args)}): ${(err as Error).message.replace(/^Invalid regular expression: /, '')} (RE2 syntax without backreferences or lookaround)`);
        }
      }
    }
    if (Array.isArray(args)) for (const a of args.flat()) if (typeof a === 'object' && a !== null && 'op' in a) walk(a as ASTNode);
  };
  walk(root);
  return out;
}
