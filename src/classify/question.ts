/**
 * Which part of a conversation the scorers read as what is asked: the last user message, and in it the
 * question rather than a pasted text around it. Shared by the learned model's features (features.ts)
 * and the heuristic (heuristic.ts), so the two read the same words.
 */
import { PUNCT } from './alphabet.ts';

export function roleOf(message: unknown): unknown {
  return typeof message === 'object' && message !== null ? (message as { role?: unknown }).role : undefined;
}

/** The index of the last user message; with none, the last message (classify what came last rather than nothing); −1 for none at all. */
export function lastUserIndex(list: readonly unknown[]): number {
  let i = list.length - 1;
  while (i >= 0 && roleOf(list[i]) !== 'user') i--;
  return i >= 0 ? i : list.length - 1;
}

/** The question of a text as two ranges, [h0, h1) and [t0, t1); either may be empty. */
export class QuestionRange {
  h0 = 0;
  h1 = 0;
  t0 = 0;
  t1 = 0;
}

/**
 * Sets q to the question of `text`: the whole text when it is at most 2 × edge long; otherwise the first
 * paragraph if it ends within `edge` characters and the last paragraph if it starts within `edge` of the
 * end, else the first and last `edge` characters. Each search looks at most `edge` characters, so the
 * cost is bounded however large the paste. With `sides`, when both ends are paragraphs and one reads as
 * part of the paste (several lines, or dense with digits and code punctuation: a table row, the end of a
 * function) and the other does not, the other alone is the question: "what language is this?" above a
 * Go file must not read the file's closing lines.
 */
export function findQuestion(text: string, edge: number, sides: boolean, q: QuestionRange): void {
  const n = text.length;
  q.h0 = 0;
  q.t1 = n;
  if (n <= 2 * edge) {
    q.h1 = n;
    q.t0 = n;
    return;
  }
  const firstBreak = text.lastIndexOf('\n\n', edge) >= 0 ? text.indexOf('\n\n') : -1;
  const lastBreak = text.indexOf('\n\n', n - edge) >= 0 ? text.lastIndexOf('\n\n') : -1;
  if (firstBreak < 0 && lastBreak < 0) {
    q.h1 = edge;
    q.t0 = n - edge;
    return;
  }
  q.h1 = firstBreak >= 0 ? firstBreak : 0;
  q.t0 = lastBreak >= 0 ? lastBreak : n;
  if (sides && q.h1 > 0 && q.t0 < n) {
    const headPaste = pasteLike(text, 0, q.h1);
    const tailPaste = pasteLike(text, q.t0, n);
    if (headPaste && !tailPaste) q.h1 = 0;
    else if (tailPaste && !headPaste) q.t0 = n;
  }
}

/** Whether text[from, to) looks like pasted material rather than a question: 2+ line breaks, or 10%+ digits and code punctuation. */
function pasteLike(text: string, from: number, to: number): boolean {
  let lines = 0;
  let dense = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) {
      if (i > from && i + 1 < to && text.charCodeAt(i - 1) !== 10 && text.charCodeAt(i + 1) !== 10) lines++;
    } else if ((c >= 48 && c <= 57) || PUNCT[c] === 1) dense++;
  }
  return lines >= 2 || dense * 10 >= to - from;
}
