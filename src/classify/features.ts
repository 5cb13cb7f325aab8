/**
 * From a chat conversation to the sparse feature vector the learned model (model.ts) scores. The same
 * code extracts features for training (scripts/classify-train.ts), for the request path and for
 * explain, so the three cannot drift apart.
 *
 * What is read, and why:
 * - The last user message decides the tier. A message longer than 2 × pasteEdge is a paste plus a
 *   question; only the question (its first or last paragraph, else its first and last pasteEdge
 *   characters) is read, and the paste counts only as "there is a paste of this size". So "what
 *   language is this?" above 8 KB of Go is a look-up, and the cost is bounded whatever the size.
 * - Cue counts from the automaton (the configurable lists of vocabulary.ts and standalone numbers), as
 *   log counts, alone and per length band: an explicit cue counts whatever the length of the prompt,
 *   and its weight is learned, so one stray cue in a routine request is one feature among many, not a
 *   rule. The heuristic's score and its "plain reasoning" test are two more features.
 * - Length, as a log and as one-hot bands, the density of code and technical cues, punctuation (code
 *   punctuation, question marks, sentences, math symbols) and numbers: these separate SIMPLE, MEDIUM and
 *   COMPLEX, and a word problem (several sentences with quantities) from a look-up.
 * - Hashed words (bigrams optional), and the first word and first two words of the question (what is
 *   asked: "which", "prove", "write", "why"). Words are lower-cased and accent-stripped by the alphabet
 *   table, and every digit reads as the same digit. Letters outside a–z (CJK, Cyrillic, Hangul,
 *   Devanagari) also give character unigrams and bigrams, since CJK has no spaces to cut words at. Each
 *   hashed feature weighs 1/√(words + letters outside a–z). The automaton hashes the words in the same
 *   pass as it counts cues.
 * - For a short follow-up ("do it", "and Chile?"), the earlier turns: their cue counts and length, the
 *   words of the previous user turn, and the tier the model gives that turn on its own, all scaled by
 *   how short the follow-up is. A message of followUpChars or more ignores the earlier turns.
 */
import type { Automaton, TaggedPhrase, WordSink } from './automaton.ts';
import { PUNCT } from './alphabet.ts';
import { QuestionRange, findQuestion, lastUserIndex, roleOf } from './question.ts';
import { DEFAULT_TUNING, DEFAULT_WEIGHTS } from './heuristic.ts';
import {
  CHARS, CODE, COUNTS_SIZE, D_CODE, D_REASONING, D_TECHNICAL, DIM_COUNT, NUMBER, SIMPLE, STRONG, TASK, TECHNICAL, WEAK, normalise,
  weightedScore,
} from './score.ts';

export interface FeatureOptions {
  /** log2 of the number of hashed buckets. */
  hashBits: number;
  /** Word bigrams as well as unigrams. */
  bigrams: boolean;
  /** Character unigrams and bigrams of letters outside a–z. */
  charNgrams: boolean;
  /** Weight of the previous user turn's words for a follow-up (scaled by its shortness); 0 = not read. */
  contextWords: number;
  /** Characters at each end of a long message that may hold the question. */
  pasteEdge: number;
  /** A last message this long or longer is not a follow-up: shortness = max(0, 1 − chars / followUpChars). */
  followUpChars: number;
}

/** Dense features, at indices 0 .. DENSE.length − 1; hashed buckets follow. Names are for explain. */
export const DENSE = [
  'bias',
  'length (log)', 'length < 20', 'length < 40', 'length < 80', 'length < 160', 'length < 320', 'length < 640', 'length ≥ 640',
  'cues: code', 'cues: reasoning (strong)', 'cues: reasoning (weak)', 'cues: technical', 'cues: simple', 'cues: task', 'numbers',
  'code+technical density', 'reasoning density', 'question marks', 'code punctuation', 'lines', 'paragraphs',
  'paste', 'paste length (log)',
  'follow-up', 'follow-up shortness', 'context: code', 'context: reasoning (strong)', 'context: reasoning (weak)',
  'context: technical', 'context: simple', 'context: task', 'context length (log)',
  'math symbols', 'cue score', 'plain reasoning', 'sentences', 'number density',
  ...['code', 'reasoning (strong)', 'reasoning (weak)', 'technical', 'simple', 'task', 'numbers'].flatMap((cue) =>
    ['< 40', '< 160', '< 640', '≥ 640'].map((len) => `cues: ${cue} × length ${len}`),
  ),
  'follow-up to SIMPLE', 'follow-up to MEDIUM', 'follow-up to COMPLEX', 'follow-up to REASONING',
] as const;
const F_BIAS = 0;
const F_LOGLEN = 1;
const F_BAND = 2; // 7 bands
const F_CUES = 9; // code, strong, weak, technical, simple, task, numbers
const F_DOMAIN_DENSITY = 16;
const F_REASON_DENSITY = 17;
const F_QMARKS = 18;
const F_CODE_PUNCT = 19;
const F_LINES = 20;
const F_PARAS = 21;
const F_PASTE = 22;
const F_PASTE_LEN = 23;
const F_FOLLOW = 24;
const F_SHORT = 25;
const F_CTX = 26; // code, strong, weak, technical, simple, task
const F_CTX_LEN = 32;
const F_MATH = 33;
const F_CUE_SCORE = 34;
const F_PLAIN = 35;
const F_SENTENCES = 36;
const F_NUMBER_DENSITY = 37;
const F_CUE_BY_LEN = 38; // 7 cues × 4 length bands
const F_CONTEXT_TIER = F_CUE_BY_LEN + 28; // 4 tiers
export const DENSE_COUNT = DENSE.length;
// The indices above are written by hand: fail at load, not silently, if they drift from the names.
if (DENSE[F_CTX_LEN] !== 'context length (log)' || DENSE[F_CUE_BY_LEN] !== 'cues: code × length < 40' || DENSE_COUNT !== F_CONTEXT_TIER + 4) {
  throw new Error('classifier: dense feature layout out of sync with its names');
}

/** The automaton slots the cue features read, in DENSE order. */
const CUE_SLOTS = [CODE, STRONG, WEAK, TECHNICAL, SIMPLE, TASK, NUMBER] as const;
const CTX_SLOTS = [CODE, STRONG, WEAK, TECHNICAL, SIMPLE, TASK] as const;

// Hash namespaces, so the same word as a unigram, a first word or a context word lands in different buckets.
const NS_WORD = 0x9e3779b1;
const NS_BIGRAM = 0x85ebca77;
const NS_FIRST = 0xc2b2ae3d;
const NS_FIRST2 = 0x27d4eb2f;
const NS_CHAR = 0x165667b1;
const NS_CHAR2 = 0xd3a2646c;
const NS_CONTEXT = 0xfd7046c5;

/** Most entries one text can add; the rest of a pathological question is dropped. */
const CAPACITY = 8192;

/** A sparse vector: idx[0..n) with val[0..n); an index may repeat (the values add up). */
export class FeatureVector {
  readonly idx = new Int32Array(CAPACITY);
  readonly val = new Float64Array(CAPACITY);
  n = 0;
  /** When not null, the name of every entry, for explain. */
  names: string[] | null = null;

  /** Adds an entry; a hashed one is named by its caller when names are kept. */
  add(i: number, v: number): void {
    if (this.n === CAPACITY) return;
    this.idx[this.n] = i;
    this.val[this.n] = v;
    if (this.names !== null) this.names[this.n] = DENSE[i] ?? 'hashed';
    this.n++;
  }
}

/** What explain reports besides the features: the counts behind the cue and length features. */
export interface Signals {
  /** Counter slots (score.ts) of the question of the last user message. */
  readonly counts: Float64Array;
  /** Of the earlier turns, weighted by recency. */
  readonly context: Float64Array;
  /** Characters of the last user message outside its question (counts[CHARS] has the question's). */
  pasteChars: number;
  /** 0 for a message of followUpChars or more, 1 for an empty one; 0 when there is no earlier turn. */
  shortness: number;
}

/**
 * Tier probabilities of one message on its own, from the model being trained or shipped: a short
 * follow-up gets the tier its previous user turn would have, as features scaled by its shortness.
 */
export type ContextScorer = (fv: FeatureVector, probs: Float64Array) => void;

export class FeatureExtractor implements WordSink {
  private readonly mask: number;
  private readonly shift: number;
  /** Set by the model's owner (learned.ts, or training between rounds); null reads no context tier. */
  contextScorer: ContextScorer | null = null;
  /**
   * Training only (train.ts, cue dropout): a word for which this returns true adds no hashed feature of
   * its own, as if the model had never seen it; it still counts as a word and as a cue. Null on the
   * request path.
   */
  get wordMask(): ((hash: number) => boolean) | null {
    return this.mask_;
  }
  set wordMask(m: ((hash: number) => boolean) | null) {
    this.mask_ = m;
    if (this.inner !== null) this.inner.wordMask = m;
  }
  private mask_: ((hash: number) => boolean) | null = null;
  private readonly contextFv: FeatureVector | null;
  private readonly contextProbs = new Float64Array(4);
  private readonly one = new Float64Array(COUNTS_SIZE);
  readonly signals: Signals = {
    counts: new Float64Array(COUNTS_SIZE),
    context: new Float64Array(COUNTS_SIZE),
    pasteChars: 0,
    shortness: 0,
  };
  // read()'s state: where the words go, words so far, and the previous word's hash and start.
  private sinkFv: FeatureVector | null = null;
  private sinkWeight = 0;
  private sinkNs = 0;
  private sinkFirst = false;
  private count = 0;
  /** Letters outside a–z read since the caller of read() last reset it (each adds character n-grams). */
  private letters = 0;
  private prevHash = 0;
  private prevStart = 0;
  /** Counts by PUNCT class over the question of the last message (slot 0 unused). */
  private readonly punct = new Float64Array(7);
  private readonly scratchMarks = new Float64Array(7);
  /** The heuristic's dimensions (score.ts) of the last question extracted, for Classification.dims. */
  readonly dims = new Float64Array(DIM_COUNT);
  /** The question of the last text findQuestion read (question.ts). */
  private readonly q = new QuestionRange();

  constructor(
    private readonly automaton: Automaton,
    readonly options: Readonly<FeatureOptions>,
    nested = false,
  ) {
    if (!(Number.isInteger(options.hashBits) && options.hashBits >= 1 && options.hashBits <= 24)) throw new Error('classifier: hashBits must be 1..24');
    this.mask = (1 << options.hashBits) - 1;
    this.shift = 32 - options.hashBits;
    this.contextFv = nested ? null : new FeatureVector();
    this.inner = nested ? null : new FeatureExtractor(automaton, options, true);
  }

  /** Reads a previous user turn on its own for the context scorer; null inside that reader. */
  private readonly inner: FeatureExtractor | null;
  /** The one-message conversation the inner reader is given (reused: no array per follow-up). */
  private readonly prevTurn: unknown[] = [null];

  /** Dense features plus 2^hashBits buckets. */
  get dimension(): number {
    return DENSE_COUNT + this.mask + 1;
  }

  /** Fills fv (from empty) with the features of a conversation; never throws on malformed input. */
  extract(messages: unknown, fv: FeatureVector): void {
    fv.n = 0;
    const sig = this.signals;
    sig.counts.fill(0);
    sig.context.fill(0);
    sig.pasteChars = 0;
    sig.shortness = 0;
    const list = Array.isArray(messages) ? (messages as unknown[]) : [];
    const lastIdx = lastUserIndex(list);

    fv.add(F_BIAS, 1);
    const hashStart = fv.n;
    let lastChars = 0;
    let words = 0;
    let q = 0;
    this.punct.fill(0);
    this.letters = 0;
    const text = lastIdx >= 0 ? textOf(list[lastIdx]) : '';
    if (text.length > 0) {
      lastChars = text.length;
      findQuestion(text, this.options.pasteEdge, true, this.q);
      const { h0, h1, t0, t1 } = this.q;
      if (h1 > h0) words += this.read(text, h0, h1, sig.counts, fv, 1, NS_WORD, true, this.punct);
      if (t1 > t0) words += this.read(text, t0, t1, sig.counts, fv, 1, NS_WORD, h1 <= h0, this.punct);
      q = h1 - h0 + (t1 - t0);
      sig.pasteChars = text.length - q;
    }
    const punct = this.punct;
    const codePunct = punct[1]!;
    const qmarks = punct[2]!;
    const lines = punct[3]!;
    const paras = punct[4]!;
    this.scaleHashed(fv, hashStart, words);

    const counts = sig.counts;
    counts[CHARS] = q;
    fv.add(F_LOGLEN, log1p(q) / 8);
    fv.add(F_BAND + band(q), 1);
    // A cue means something else in a short question than in a long task: each also counts per length band.
    const coarse = q < 40 ? 0 : q < 160 ? 1 : q < 640 ? 2 : 3;
    for (let j = 0; j < CUE_SLOTS.length; j++) {
      const x = counts[CUE_SLOTS[j]!]!;
      if (x === 0) continue;
      fv.add(F_CUES + j, log1p(x));
      fv.add(F_CUE_BY_LEN + 4 * j + coarse, log1p(x));
    }
    const perWord = 1 / Math.max(words, 4);
    fv.add(F_DOMAIN_DENSITY, Math.min(1, (counts[CODE]! + counts[TECHNICAL]!) * perWord));
    fv.add(F_REASON_DENSITY, Math.min(1, (2 * counts[STRONG]! + counts[WEAK]!) * perWord));
    if (qmarks > 0) fv.add(F_QMARKS, log1p(qmarks));
    if (codePunct > 0) fv.add(F_CODE_PUNCT, Math.min(1, (4 * codePunct) / Math.max(q, 1)));
    if (lines > 0) fv.add(F_LINES, log1p(lines));
    if (paras > 0) fv.add(F_PARAS, log1p(paras));
    if (punct[5]! > 0) fv.add(F_MATH, log1p(punct[5]!));
    // A word problem or a puzzle sets a scene in several sentences, with quantities, then asks.
    if (punct[6]! + qmarks > 1) fv.add(F_SENTENCES, log1p(punct[6]! + qmarks - 1));
    if (counts[NUMBER]! > 0) fv.add(F_NUMBER_DENSITY, Math.min(1, counts[NUMBER]! * perWord));
    // The hand-tuned score of heuristic.ts as two features: its weighted sum of cues and length, and its
    // "plain reasoning" test (reasoning language without code or technical terms).
    const dims = this.dims;
    normalise(counts, DEFAULT_TUNING, dims);
    fv.add(F_CUE_SCORE, weightedScore(dims, DEFAULT_WEIGHTS));
    if (dims[D_REASONING]! >= DEFAULT_TUNING.plainReasoning && Math.max(dims[D_CODE]!, dims[D_TECHNICAL]!) <= DEFAULT_TUNING.plainMaxDomain) fv.add(F_PLAIN, 1);
    if (sig.pasteChars > 0) {
      fv.add(F_PASTE, 1);
      fv.add(F_PASTE_LEN, log1p(sig.pasteChars) / 8);
    }

    if (lastIdx > 0) this.context(list, lastIdx, lastChars, fv);
  }

  /** The cue phrases the automaton finds in the question of the last user message, for explain. */
  questionMatches(messages: unknown): TaggedPhrase[] {
    const list = Array.isArray(messages) ? (messages as unknown[]) : [];
    const lastIdx = lastUserIndex(list);
    const text = lastIdx >= 0 ? textOf(list[lastIdx]) : '';
    if (text.length === 0) return [];
    findQuestion(text, this.options.pasteEdge, true, this.q);
    const { h0, h1, t0, t1 } = this.q;
    return [...this.automaton.matches(text, h0, h1), ...(t1 > t0 ? this.automaton.matches(text, t0, t1) : [])];
  }

  /**
   * The earlier turns as context for a short last message: their cue counts (each step back weighs 0.7
   * of the turn after it, assistant turns half, system prompts a quarter), and the words of the
   * previous user turn, all scaled by the last message's shortness.
   */
  private context(list: unknown[], lastIdx: number, lastChars: number, fv: FeatureVector): void {
    const sig = this.signals;
    const ctx = sig.context;
    // A message of followUpChars or more stands on its own: it gets exactly the features it would get
    // without the earlier turns, which are then not even read.
    const short = Math.max(0, 1 - lastChars / this.options.followUpChars);
    if (short === 0) return;
    const t = DEFAULT_TUNING;
    let recency = 1;
    let prevUser = -1;
    let prevText = '';
    for (let i = lastIdx - 1; i >= 0; i--) {
      const role = roleOf(list[i]);
      const text = textOf(list[i]);
      if (text.length === 0) continue;
      const weight = role === 'system' || role === 'developer' ? t.systemWeight : role === 'user' ? recency : recency * t.assistantWeight;
      if (role !== 'system' && role !== 'developer') recency *= t.recencyDecay;
      if (role === 'user' && prevUser < 0) {
        prevUser = i;
        prevText = text;
      }
      if (weight < 0.01) continue;
      const one = this.one;
      one.fill(0);
      findQuestion(text, this.options.pasteEdge, true, this.q);
      const { h0, h1, t0, t1 } = this.q;
      if (h1 > h0) this.automaton.scan(text, h0, h1, one);
      if (t1 > t0) this.automaton.scan(text, t0, t1, one);
      one[CHARS] = h1 - h0 + (t1 - t0);
      for (let k = 0; k < COUNTS_SIZE; k++) ctx[k] = ctx[k]! + weight * one[k]!;
    }
    if (ctx[CHARS] === 0) return;
    sig.shortness = short;
    fv.add(F_FOLLOW, 1);
    fv.add(F_SHORT, short);
    for (let j = 0; j < CTX_SLOTS.length; j++) if (ctx[CTX_SLOTS[j]!]! > 0) fv.add(F_CTX + j, short * log1p(ctx[CTX_SLOTS[j]!]!));
    fv.add(F_CTX_LEN, (short * log1p(ctx[CHARS]!)) / 8);
    if (prevUser >= 0 && this.contextScorer !== null && this.inner !== null) {
      const cfv = this.contextFv!;
      this.prevTurn[0] = list[prevUser];
      this.inner.extract(this.prevTurn, cfv);
      this.prevTurn[0] = null;
      this.contextScorer(cfv, this.contextProbs);
      for (let t = 0; t < 4; t++) fv.add(F_CONTEXT_TIER + t, short * this.contextProbs[t]!);
    }
    const w = this.options.contextWords * short;
    if (w > 0 && prevUser >= 0) {
      const text = prevText;
      findQuestion(text, this.options.pasteEdge, true, this.q);
      const { h0, h1, t0, t1 } = this.q;
      const start = fv.n;
      const scratch = this.one;
      this.letters = 0;
      let words = this.read(text, h0, h1, scratch, fv, w, NS_CONTEXT, false, this.scratchMarks);
      if (t1 > t0) words += this.read(text, t0, t1, scratch, fv, w, NS_CONTEXT, false, this.scratchMarks);
      this.scaleHashed(fv, start, words);
    }
  }

  /**
   * Scans text[from, to) once: cue counts into acc, and the hashed words (unigrams, bigrams, and when
   * `first` the first word and first two words) and character n-grams into fv, each adding `weight`.
   * Returns the number of words read.
   */
  private read(text: string, from: number, to: number, acc: Float64Array, fv: FeatureVector, weight: number, ns: number, first: boolean, marks: Float64Array): number {
    this.sinkFv = fv;
    this.sinkWeight = weight;
    this.sinkNs = ns;
    this.sinkFirst = first;
    this.count = 0;
    this.automaton.scanWords(text, from, to, acc, this, PUNCT, marks);
    return this.count;
  }

  /** WordSink: one word of the text being read. */
  word(text: string, start: number, end: number, hash: number): void {
    this.endWord(text, start, end, hash, this.sinkFv!, this.sinkWeight, this.sinkNs, this.sinkFirst);
  }

  /** WordSink: a letter outside a–z. */
  letter(text: string, i: number, prev: number): void {
    if (!this.options.charNgrams) return;
    this.letters++;
    this.charGrams(text, i, prev, this.sinkFv!, this.sinkWeight, this.sinkNs);
  }

  /**
   * Scales the hashed entries fv added from `from` on by 1/√units, so a long question does not outvote
   * its dense features. A unit is a word, or a letter outside a–z when those give character n-grams: a
   * Chinese question is one "word" per run between punctuation but adds two n-grams per character, and
   * counting its words alone let 37 characters outweigh every dense feature (results/classifier.md, v16).
   */
  private scaleHashed(fv: FeatureVector, from: number, words: number): void {
    const units = words + this.letters;
    if (units > 1) for (let k = from, s = 1 / Math.sqrt(units); k < fv.n; k++) fv.val[k] = fv.val[k]! * s;
  }

  /** A word [start, end) with hash h: its unigram, its bigram with the word before, and the first word(s). */
  private endWord(text: string, start: number, end: number, h: number, fv: FeatureVector, weight: number, ns: number, first: boolean): void {
    const n = this.count;
    const from = fv.n;
    if (this.mask_ !== null && this.mask_(h)) {
      this.prevHash = h;
      this.prevStart = start;
      this.count = n + 1;
      return;
    }
    fv.add(this.bucket(h ^ ns), weight);
    // A bigram's hash: one multiply of the word before, so the hot path stays one call per word.
    const pair = Math.imul(this.prevHash, 0x2545f491) ^ h;
    if (n > 0 && this.options.bigrams) fv.add(this.bucket(pair ^ ns ^ NS_BIGRAM), weight);
    if (first && n < 2) fv.add(this.bucket(n === 0 ? h ^ NS_FIRST : pair ^ NS_FIRST2), weight);
    if (fv.names !== null) this.nameWord(text, start, end, fv, from, ns, first);
    this.prevHash = h;
    this.prevStart = start;
    this.count = n + 1;
  }

  /** Names the entries endWord just added (from `from` on), in the order it added them; explain only. */
  private nameWord(text: string, start: number, end: number, fv: FeatureVector, from: number, ns: number, first: boolean): void {
    const names = fv.names!;
    const n = this.count;
    const ctx = ns === NS_CONTEXT ? 'context ' : '';
    const word = text.slice(start, end).toLowerCase();
    const pair = text.slice(this.prevStart, end).toLowerCase();
    let k = from;
    names[k++] = `${ctx}word "${word}"`;
    if (n > 0 && this.options.bigrams) names[k++] = `${ctx}words "${pair}"`;
    if (first && n < 2) names[k++] = n === 0 ? `first word "${word}"` : `first words "${pair}"`;
  }

  /** Character unigram and bigram of a letter outside a–z (CJK has no spaces to find words by). */
  private charGrams(text: string, i: number, prevOther: number, fv: FeatureVector, weight: number, ns: number): void {
    const c = text.charCodeAt(i);
    fv.add(this.bucket(mix(c, ns ^ NS_CHAR)), weight);
    if (fv.names !== null) fv.names[fv.n - 1] = `character "${text[i]}"`;
    if (prevOther === 0) return;
    fv.add(this.bucket(mix(mix(prevOther, c), ns ^ NS_CHAR2)), weight);
    if (fv.names !== null) fv.names[fv.n - 1] = `characters "${text.slice(i - 1, i + 1)}"`;
  }

  /** Fibonacci hashing: one multiply, then the top hashBits bits. */
  private bucket(h: number): number {
    return DENSE_COUNT + (Math.imul(h, 0x9e3779b1) >>> this.shift);
  }
}

/** A 32-bit mix of two values (murmur3's finaliser over a ^ rotated b). */
function mix(a: number, b: number): number {
  let h = a ^ Math.imul(b, 0xcc9e2d51) ^ (b >>> 15);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  // int32, not uint32: V8 keeps it a small integer instead of boxing a heap number.
  return h ^ (h >>> 16);
}

/** log(1 + x), from a table for the small whole counts most features are (Math.log1p costs ~20 ns). */
const LOG1P = Float64Array.from({ length: 256 }, (_, i) => Math.log1p(i));
function log1p(x: number): number {
  return x < 256 && (x | 0) === x ? LOG1P[x]! : Math.log1p(x);
}

/** The length band of a question of q characters (F_BAND + band). */
function band(q: number): number {
  return q < 20 ? 0 : q < 40 ? 1 : q < 80 ? 2 : q < 160 ? 3 : q < 320 ? 4 : q < 640 ? 5 : 6;
}

/** The text parts of a message, joined by a blank line; '' for anything else. */
export function textOf(message: unknown): string {
  if (typeof message !== 'object' || message === null) return '';
  const content = (message as { content?: unknown }).content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let out = '';
  for (const part of content as unknown[]) {
    if (typeof part !== 'object' || part === null) continue;
    const { type, text } = part as { type?: unknown; text?: unknown };
    if (type === 'text' && typeof text === 'string') out = out === '' ? text : `${out}\n\n${text}`;
  }
  return out;
}
