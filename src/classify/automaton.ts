/**
 * Aho–Corasick over whole words: built once from tagged phrases, then one pass over a string counts
 * how often each tag's phrases occur, allocating nothing.
 *
 * Every phrase is stored as SEP word (SEP word)* SEP (see alphabet.ts) and the text is read as if it
 * were wrapped in separators, so plain Aho–Corasick matching is whole-word matching: "class" cannot
 * match inside "classic", and overlapping phrases ("step by step" and "by step") all count. Two extra
 * states count standalone numbers, and hyphens join words, without any per-character branch.
 *
 * The goto/failure function is compiled into a dense DFA, so the scan is one table load per code unit:
 *   state = delta[SYMBOL[code] × stateCount + state]
 * The table is symbol-major (one column of every state per symbol) and 16-bit: the multiply depends on
 * the character only, so the chain from one state to the next is an add and a load, as in a row-major
 * table, but the table is half the size (516 KB for the default vocabulary, against 1 MB of pre-multiplied
 * int32 rows) and, with states numbered breadth-first, the shallow states every word passes through sit
 * together in each column. Warm, the two layouts scan at the same speed; after 4 MB of other memory
 * traffic (a request thread's cache between two requests) this one scanned a 200 B prompt in 4.9
 * against 5.9–7.3 µs and 8 KB in 52.6 against 60.2 µs (medians, results/classifier.md). States are
 * numbered so that every state with an output comes last: "did anything match?" is a compare against
 * `firstOutput`, not a load.
 */
import { ALPHABET_SIZE, FIRST_DIGIT, FIRST_LETTER, HYPHEN, OTHER, SEP, SYMBOL, phraseSymbols } from './alphabet.ts';

/** Characters scanned between two tallies of the matched tags. */
const HITS = 4096;

/**
 * What scanWords reports besides the cue counts: each word (with its hash) and each letter outside a–z.
 * Called once per word, not per character.
 */
export interface WordSink {
  /** A word text[start, end); hash covers its symbols, with every digit the same digit. */
  word(text: string, start: number, end: number, hash: number): void;
  /** A letter outside a–z at i (CJK, Cyrillic, ...); prev is the code unit of such a letter just before it, else 0. */
  letter(text: string, i: number, prev: number): void;
}

export interface TaggedPhrase {
  phrase: string;
  /** Which counter a match increments (0 ≤ tag < tagCount). */
  tag: number;
}

export class Automaton {
  /** delta[symbol × stateCount + state]: 16-bit unless there are more than 65,536 states. */
  private readonly delta: Uint16Array | Int32Array;
  /** The state "just read a separator": where every text starts. */
  private readonly startState: number;
  private readonly firstOutput: number;
  /** Tags matched on entering output state s: outTags[outStart[j] .. outStart[j + 1]), j = s − first output state. */
  private readonly outStart: Int32Array;
  private readonly outTags: Uint8Array;
  /** The phrases behind each output state's tags, for explain (matches()). */
  private readonly outPhrases: TaggedPhrase[][];
  /** Output states met in the current chunk of a scan. */
  private readonly hits = new Int32Array(HITS);
  /** States of the DFA; its table takes stateCount × ALPHABET_SIZE entries (tableBytes). */
  readonly stateCount: number;

  /** With numberTag ≥ 0, every standalone run of digits ("45", "9:40" is two) also counts under that tag. */
  constructor(phrases: readonly TaggedPhrase[], tagCount: number, numberTag = -1) {
    if (tagCount > 256) throw new Error('classifier vocabulary: at most 256 tags'); // outTags is a Uint8Array
    const K = ALPHABET_SIZE;
    // 1. Trie. Node 0 is the empty string; the same phrase under the same tag is stored once.
    const children: Int32Array[] = [new Int32Array(K).fill(-1)];
    const own: Set<number>[] = [new Set()];
    const ownPhrases: TaggedPhrase[][] = [[]];
    for (const { phrase, tag } of phrases) {
      if (!(tag >= 0 && tag < tagCount && Number.isInteger(tag))) throw new Error(`classifier vocabulary: bad tag ${tag}`);
      const syms = phraseSymbols(phrase);
      if (syms.length === 0) throw new Error(`classifier vocabulary: "${phrase}" has no letters or digits`);
      let node = 0;
      for (const c of syms) {
        let next = children[node]![c]!;
        if (next < 0) {
          next = children.length;
          children[node]![c] = next;
          children.push(new Int32Array(K).fill(-1));
          own.push(new Set());
          ownPhrases.push([]);
        }
        node = next;
      }
      if (!own[node]!.has(tag)) ownPhrases[node]!.push({ phrase, tag });
      own[node]!.add(tag);
    }

    // 2. Breadth-first: failure links, the complete transition function and output lists. Two extra
    // states (see 3) recognise numbers.
    const trieSize = children.length;
    const n = trieSize + 2;
    const next = new Int32Array(n * K);
    const fail = new Int32Array(trieSize);
    const endsWithSep = new Uint8Array(n);
    const outputs: number[][] = new Array<number[]>(n);
    const outPhrases: TaggedPhrase[][] = new Array<TaggedPhrase[]>(n);
    outputs[0] = [];
    outPhrases[0] = [];
    const queue = [0];
    for (let qi = 0; qi < queue.length; qi++) {
      const s = queue[qi]!;
      const row = children[s]!;
      for (let c = 0; c < K; c++) {
        const child = row[c]!;
        const viaFail = s === 0 ? 0 : next[fail[s]! * K + c]!;
        if (child >= 0) {
          fail[child] = viaFail;
          endsWithSep[child] = c === SEP ? 1 : 0;
          outputs[child] = [...own[child]!, ...outputs[viaFail]!];
          outPhrases[child] = [...ownPhrases[child]!, ...outPhrases[viaFail]!];
          queue.push(child);
          next[s * K + c] = child;
        } else {
          next[s * K + c] = viaFail;
        }
      }
      // A run of separators reads as one: after a separator, another one keeps the state (and the
      // phrase in progress), so "step  by\nstep" still matches "step by step".
      if (endsWithSep[s]) next[s * K + SEP] = s;
    }

    // 3. Numbers: a digit read where a word may start, and where no phrase continues with that digit,
    // enters NUM; NUM loops on digits and, on a separator, enters NUMEND, which counts a number and then
    // behaves as the plain "just read a separator" state. A digit run glued to letters ("3am") is a word.
    const NUM = trieSize;
    const NUMEND = trieSize + 1;
    const sepState = next[SEP]!;
    next.copyWithin(NUMEND * K, sepState * K, sepState * K + K);
    next[NUMEND * K + SEP] = NUMEND;
    endsWithSep[NUMEND] = 1;
    outputs[NUM] = [];
    outputs[NUMEND] = numberTag >= 0 ? [numberTag] : [];
    outPhrases[NUM] = [];
    outPhrases[NUMEND] = numberTag >= 0 ? [{ phrase: '(number)', tag: numberTag }] : [];
    queue.push(NUM, NUMEND);
    if (numberTag >= 0) {
      for (const s of queue) {
        if (!endsWithSep[s]) continue;
        for (let c = FIRST_DIGIT; c < FIRST_DIGIT + 10; c++) if (next[s * K + c] === 0) next[s * K + c] = NUM;
      }
      for (let c = FIRST_DIGIT; c < FIRST_DIGIT + 10; c++) next[NUM * K + c] = NUM;
      next[NUM * K + SEP] = NUMEND;
    }

    // 4. An output state read again through the separator self-loop would count its phrase twice
    // ("hi  there"). Its extra separators lead instead to a silent twin with the same transitions.
    const matched = queue.filter((s) => outputs[s]!.length > 0);
    const total = n + matched.length;
    const full = new Int32Array(total * K);
    full.set(next);
    matched.forEach((s, t) => {
      const twin = n + t;
      full.copyWithin(twin * K, s * K, s * K + K);
      full[twin * K + SEP] = twin;
      full[s * K + SEP] = twin;
    });

    // 5. A hyphen inside a word is skipped (the state stays); after a separator it is one more separator.
    for (let s = 0; s < total; s++) {
      const afterSep = s >= n || endsWithSep[s];
      full[s * K + HYPHEN] = afterSep ? full[s * K + SEP]! : s;
    }

    // 6. Renumber: states without output first, in BFS order (the shallow states every word passes
    // through sit together), then states with output.
    const order = queue.filter((s) => outputs[s]!.length === 0);
    for (let t = 0; t < matched.length; t++) order.push(n + t);
    const firstOutput = order.length;
    order.push(...matched);
    const id = new Int32Array(total);
    order.forEach((s, i) => (id[s] = i));

    const delta = total <= 65536 ? new Uint16Array(total * K) : new Int32Array(total * K);
    for (let i = 0; i < total; i++) {
      const s = order[i]!;
      for (let c = 0; c < K; c++) delta[c * total + i] = id[full[s * K + c]!]!;
    }
    this.delta = delta;
    const outStart = new Int32Array(matched.length + 1);
    const tags: number[] = [];
    matched.forEach((s, j) => {
      outStart[j] = tags.length;
      tags.push(...outputs[s]!);
    });
    outStart[matched.length] = tags.length;
    this.outStart = outStart;
    this.outTags = Uint8Array.from(tags);
    this.outPhrases = matched.map((s) => outPhrases[s]!);
    this.startState = delta[SEP * total]!; // from the empty state (0), read one separator
    this.firstOutput = firstOutput;
    this.stateCount = total;
  }

  /** Bytes of the transition table. */
  get tableBytes(): number {
    return this.delta.byteLength;
  }

  /**
   * Adds 1 to acc[tag] for every phrase occurrence inside text[from, to). Words cut by the range do not
   * count: a range starting inside a word starts in the "unknown word" state, and one ending inside a
   * word gets no closing separator, so scanning "…subclass…" from "class" finds nothing.
   */
  scan(text: string, from: number, to: number, acc: Float64Array): void {
    const delta = this.delta;
    const n = this.stateCount;
    const symbol = SYMBOL;
    const hits = this.hits;
    const firstOutput = this.firstOutput;
    let state = from > 0 && symbol[text.charCodeAt(from - 1)] !== SEP ? 0 : this.startState;
    // The inner loop only records the output states it enters; their tags are added per chunk. Adding
    // them inside the loop (a nested loop or a call) made V8 reload the tables on every character.
    for (let start = from; start < to; start += HITS) {
      const end = Math.min(to, start + HITS);
      let h = 0;
      for (let i = start; i < end; i++) {
        state = delta[symbol[text.charCodeAt(i)]! * n + state]!;
        if (state >= firstOutput) hits[h++] = state;
      }
      this.count(hits, h, acc);
    }
    if (to < text.length && symbol[text.charCodeAt(to)] !== SEP) return;
    hits[0] = delta[SEP * n + state]!;
    if (hits[0] >= firstOutput) this.count(hits, 1, acc);
  }

  /**
   * The phrase occurrences inside text[from, to), in order, each with its tag: what scan() counts, for
   * explain output. Allocates; not for the request path.
   */
  matches(text: string, from: number, to: number): TaggedPhrase[] {
    const out: TaggedPhrase[] = [];
    // Scan one character at a time and read which output state each step entered.
    const n = this.stateCount;
    let state = from > 0 && SYMBOL[text.charCodeAt(from - 1)] !== SEP ? 0 : this.startState;
    const emit = (s: number): void => {
      if (s >= this.firstOutput) out.push(...this.outPhrases[s - this.firstOutput]!);
    };
    for (let i = from; i < to; i++) {
      state = this.delta[SYMBOL[text.charCodeAt(i)]! * n + state]!;
      emit(state);
    }
    if (to >= text.length || SYMBOL[text.charCodeAt(to)] === SEP) emit(this.delta[SEP * n + state]!);
    return out;
  }

  /**
   * scan() and, in the same pass, the words of text[from, to) for the learned model: each word's FNV-1a
   * hash over its symbols goes to sink.word, each letter outside a–z to sink.letter, and separators
   * with a nonzero class in `marks` are tallied in markCounts (a newline followed by another also adds
   * to markCounts[4]: a blank line). One loop instead of two saves a third of the cost of a short prompt.
   */
  scanWords(text: string, from: number, to: number, acc: Float64Array, sink: WordSink, marks: Uint8Array, markCounts: Float64Array): void {
    const delta = this.delta;
    const n = this.stateCount;
    const symbol = SYMBOL;
    const hits = this.hits;
    const firstOutput = this.firstOutput;
    let state = from > 0 && symbol[text.charCodeAt(from - 1)] !== SEP ? 0 : this.startState;
    let h = 0;
    let inWord = false;
    let start = 0;
    let prevOther = 0;
    let nh = 0;
    for (let i = from; i < to; i++) {
      const c = text.charCodeAt(i);
      const s = symbol[c]!;
      state = delta[s * n + state]!;
      if (state >= firstOutput) {
        hits[nh++] = state;
        if (nh === HITS) {
          this.count(hits, nh, acc);
          nh = 0;
        }
      }
      if (s >= FIRST_LETTER) {
        if (!inWord) {
          inWord = true;
          start = i;
          h = 0x811c9dc5 | 0;
        }
        h = Math.imul(h ^ (s >= FIRST_DIGIT ? FIRST_DIGIT : s), 0x01000193);
        prevOther = 0;
      } else if (s === SEP) {
        const k = marks[c]!;
        if (k !== 0) {
          markCounts[k]!++;
          if (k === 3 && i + 1 < to && text.charCodeAt(i + 1) === 10) markCounts[4]!++;
        }
        if (inWord) sink.word(text, start, i, h);
        inWord = false;
        prevOther = 0;
      } else if (s === OTHER) {
        if (!inWord) {
          inWord = true;
          start = i;
          h = 0x811c9dc5 | 0;
        }
        h = Math.imul(h ^ (c + 0x10000), 0x01000193);
        sink.letter(text, i, prevOther);
        prevOther = c;
      } else if (!inWord) {
        prevOther = 0; // a hyphen joins the word it is inside, and separates anywhere else
      }
    }
    if (nh > 0) this.count(hits, nh, acc);
    if (inWord) sink.word(text, start, to, h);
    if (to < text.length && symbol[text.charCodeAt(to)] !== SEP) return;
    hits[0] = delta[SEP * n + state]!;
    if (hits[0] >= firstOutput) this.count(hits, 1, acc);
  }

  private count(hits: Int32Array, h: number, acc: Float64Array): void {
    for (let x = 0; x < h; x++) {
      const j = hits[x]! - this.firstOutput;
      for (let k = this.outStart[j]!, end = this.outStart[j + 1]!; k < end; k++) acc[this.outTags[k]!]!++;
    }
  }
}
