/** The options of the question a note belongs to, as the candidate sees them: ids and texts, never the key. */
export type NoteOptions = readonly { id: string; text: string }[];

type Token = {
  /** Lower case, as written. */
  word: string;
  /** As written (case kept). */
  raw: string;
  start: number;
  end: number;
};

// Words, numbers with decimals ("7.5", "0,65") and contractions ("it's") are one token each.
const TOKEN = /[\p{L}\p{N}]+(?:['’.,][\p{L}\p{N}]+)*/gu;

// Words that ask to choose, or say which choice is right: any of them withholds a note.
const POINTING_WORDS =
  /(?<![\p{L}\p{N}])(answer\p{L}*|correct\p{L}*|incorrect\p{L}*|wrong\p{L}*|option\p{L}*|opt|choice\p{L}*|choos\p{L}*|chose\p{L}*|pick\p{L}*|select\p{L}*|alternative\p{L}*|solution\p{L}*|keys?|tick\p{L}*|circl\p{L}*|click\p{L}*|eliminat\p{L}*|former|latter|penultimate)(?![\p{L}\p{N}])/u;

// Phrases that point at a place in the list of options.
const POSITION_PHRASES = [
  /\b(go|goes|going|went) with\b/,
  /\b(rule|rules|ruled|cross|crossed) (it |them )?out\b/,
  /\bfrom the (top|bottom|end|start|beginning|left|right)\b/,
  /\b(at|on|near) the (very )?(top|bottom)\b/,
  /\bthe (one|ones) (on|at|in|near|to|nearest|closest)( the)? (left|right|top|bottom|end|start|beginning|middle)\b/,
  /\b(of|from) the (above|below)\b/,
  /\b(one|ones|item|items|entry|entries|listed|given|shown) (above|below)\b/,
  /\bthe (above|below)\b/,
  /\b(right|best|only|true|valid|good|proper|expected) (one|ones)\b/,
];

const ORDINALS = new Set([
  'first',
  'second',
  'third',
  'fourth',
  'fifth',
  'sixth',
  'seventh',
  'eighth',
  'ninth',
  'tenth',
  'last',
  'final',
  'top',
  'bottom',
  'middle',
  'upper',
  'lower',
  'uppermost',
  'topmost',
  'bottommost',
  'lowermost',
  'leftmost',
  'rightmost',
]);
const ORDINAL_SUFFIX = /^\d+(st|nd|rd|th)$/;

// What may follow an ordinal for it to name an option: "the first one", "the second listed".
const PLACE_NOUNS = new Set([
  'one',
  'ones',
  'item',
  'items',
  'entry',
  'entries',
  'listed',
  'given',
  'shown',
  'displayed',
  'mentioned',
  'button',
  'line',
  'row',
]);

// Words before a letter or number that make it a label: "number 2", "no. 3", "letter b", "press 2".
const LABEL_WORDS = new Set([
  'number',
  'numbers',
  'no',
  'nr',
  'num',
  'numero',
  'item',
  'letter',
  'press',
  'hit',
  'type',
  'mark',
  'label',
  'labelled',
  'labeled',
]);

const NUMBER_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
const ROMAN = ['', 'i', 'ii', 'iii', 'iv', 'v', 'vi', 'vii', 'viii', 'ix', 'x', 'xi', 'xii'];

// Words too common to say which option is meant; every other word of an option text is compared.
const STOPWORDS = new Set([
  'a',
  'an',
  'the',
  'is',
  'are',
  'was',
  'were',
  'be',
  'been',
  'being',
  'it',
  "it's",
  'its',
  'of',
  'to',
  'in',
  'on',
  'at',
  'by',
  'for',
  'with',
  'as',
  'from',
  'into',
  'and',
  'or',
  'but',
  'if',
  'then',
  'so',
  'than',
  'that',
  'this',
  'these',
  'those',
  'there',
  'do',
  'does',
  'did',
  'can',
  'will',
  'would',
  'should',
  'may',
  'might',
  'must',
  'has',
  'have',
  'had',
  'i',
  'you',
  'we',
  'they',
  'he',
  'she',
  'what',
  'which',
  'who',
]);

// Words that follow a letter used as a label but never the article "a".
const AFTER_A_LABEL = new Set([
  'is',
  "isn't",
  'was',
  "wasn't",
  'are',
  'be',
  'fits',
  'matches',
  'works',
  'holds',
  'wins',
  'applies',
  'seems',
  'looks',
  'sounds',
  'does',
  "doesn't",
  'did',
  'should',
  'would',
  'could',
  'must',
  'can',
  "can't",
  'cannot',
  'will',
  "won't",
  'may',
  'might',
  'has',
  'had',
  'makes',
  'gives',
  'says',
  'describes',
  'and',
  'or',
  'nor',
  'but',
  'then',
  'vs',
  'versus',
  'over',
  'rather',
  'instead',
  'alone',
  'it',
]);

const OPENERS = new Set(['(', '[', '{', '<', '"', "'", '‘', '“', '«', '#']);
const CLOSERS = new Set([')', ']', '}', '>', '"', "'", '’', '”', '»']);
const SENTENCE_END = new Set(['.', '!', '?', ',', ';', ':', ')', ']', '}', '—', '–', '-', '/']);

/**
 * A note as it is checked and shown: compatibility forms folded (full-width "Ｂ" is "B", "①" is "1"),
 * format and control characters removed (a zero-width space cannot split a word, a bidi override
 * cannot make it display as something else), whitespace collapsed.
 */
export function canonicalNote(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/[\p{Cf}\p{Cc}]/gu, (c) => (c === '\n' || c === '\t' ? ' ' : ''))
    .replace(/\s+/g, ' ')
    .trim();
}

function tokenize(text: string): Token[] {
  return [...text.matchAll(TOKEN)].map((m) => ({ word: m[0].toLowerCase(), raw: m[0], start: m.index, end: m.index + m[0].length }));
}

/** One form for the plural and singular of a word, and for equal numbers ("0.70" and "0.7"). */
function comparable(word: string): string {
  if (/^\d+([.,]\d+)?$/.test(word)) {
    const n = Number(word.replace(',', '.'));
    if (Number.isFinite(n)) return String(n);
  }
  if (word.length > 3 && word.endsWith('s') && !word.endsWith('ss')) return word.slice(0, -1);
  return word;
}

/** The first character that is not a space before `at`, or undefined at the start. */
function charBefore(text: string, at: number): string | undefined {
  for (let i = at - 1; i >= 0; i--) if (text[i] !== ' ') return text[i];
  return undefined;
}

/** The first character that is not a space from `at`, or undefined at the end. */
function charAfter(text: string, at: number): string | undefined {
  for (let i = at; i < text.length; i++) if (text[i] !== ' ') return text[i];
  return undefined;
}

/** Whether the token stands as a label: in brackets or quotes, after "#", at the end of a clause, or after "number", "letter"... */
function standsAsLabel(text: string, tokens: readonly Token[], i: number): boolean {
  const token = tokens[i];
  if (token === undefined) return false;
  const before = charBefore(text, token.start);
  const after = charAfter(text, token.end);
  if (before !== undefined && OPENERS.has(before)) return true;
  if (after === undefined || CLOSERS.has(after) || SENTENCE_END.has(after)) return true;
  if (before === ':' || before === '=' || before === '>' || before === '-' || before === '→') return true;
  const previous = tokens[i - 1];
  return previous !== undefined && LABEL_WORDS.has(previous.word);
}

function isSentenceStart(text: string, at: number): boolean {
  const before = charBefore(text, at);
  return before === undefined || '.!?:;"“'.includes(before);
}

/** Names an option by its id or letter: "b", "(b)", "B)", "A" written as a label. */
function namesALetterOrId(text: string, tokens: readonly Token[], ids: ReadonlySet<string>): boolean {
  for (const [i, token] of tokens.entries()) {
    if (!ids.has(token.word)) continue;
    // "a" and "I" are words as well as letters: they count when written as a label.
    if (token.word === 'a' || token.word === 'i') {
      if (standsAsLabel(text, tokens, i)) return true;
      if (token.raw === 'A' && !isSentenceStart(text, token.start)) return true;
      // The article is followed by a noun; a label by what is said of it ("A fits", "A and C").
      const next = tokens[i + 1];
      if (token.word === 'a' && next !== undefined && AFTER_A_LABEL.has(next.word)) return true;
      continue;
    }
    return true;
  }
  return false;
}

/** Names an option by its position: "2", "#2", "(2)", "number two", "the second", "the first one", "the last". */
function namesAPosition(text: string, tokens: readonly Token[], count: number): boolean {
  for (const [i, token] of tokens.entries()) {
    const { word } = token;
    const previous = tokens[i - 1]?.word;
    const next = tokens[i + 1];
    const digit = /^\d+$/.test(word) ? Number(word) : undefined;
    if (digit !== undefined && digit >= 1 && digit <= count && standsAsLabel(text, tokens, i)) return true;
    const spelled = NUMBER_WORDS.indexOf(word);
    if (spelled >= 1 && spelled <= count && standsAsLabel(text, tokens, i)) return true;
    const roman = ROMAN.indexOf(word);
    // Roman numerals from ii ("i" is a word; the letter check covers it).
    if (roman >= 2 && roman <= count) return true;
    if (ORDINALS.has(word) || ORDINAL_SUFFIX.test(word)) {
      if (next !== undefined && PLACE_NOUNS.has(next.word) && text.slice(token.end, next.start).trim() === '') return true;
      if (previous === 'the') {
        // "the second", "the last.", "the first of them"
        const after = charAfter(text, token.end);
        if (after === undefined || SENTENCE_END.has(after) || next?.word === 'of') return true;
      }
      if (ORDINAL_SUFFIX.test(word) && Number.parseInt(word, 10) <= count) return true;
    }
  }
  return false;
}

/** The common words in the form option and note words are compared in ("this" becomes "thi", as any plural -s goes). */
const COMMON = new Set([...STOPWORDS].map(comparable));

/** Quotes an option: its whole text, or a word of it that not every option shares ("Queue", "90", "log n"). */
function quotesAnOption(tokens: readonly Token[], options: NoteOptions): boolean {
  const noteWords = tokens.map((t) => comparable(t.word));
  const noteSet = new Set(noteWords);
  const optionWords = options.map((o) => tokenize(canonicalNote(o.text)).map((t) => comparable(t.word)));
  for (const words of optionWords) {
    if (words.length === 0) continue;
    // The whole text, even when it is only common words ("A", "It is").
    for (let start = 0; start + words.length <= noteWords.length; start++) {
      if (words.every((w, k) => noteWords[start + k] === w)) return true;
    }
    for (const w of words) {
      if (COMMON.has(w) || !noteSet.has(w)) continue;
      // A word every option has does not tell them apart ("km/h" in "80 km/h" and "90 km/h").
      if (optionWords.every((other) => other.includes(w))) continue;
      return true;
    }
  }
  return false;
}

/**
 * Whether an item author's note may be shown to a candidate answering the item. A note is
 * withheld when it could point to an option in any phrasing: an option's id or letter ("b", "(b)",
 * "B)", "option B"), its position ("2", "#2", "number two", "the second", "the first one", "the
 * last option", "the top answer"), words that pick or judge an option ("the correct answer is",
 * "choose", "go with"), or an option's own text or a word of it that tells the options apart.
 * Every option is treated alike and the key is never an input, so whether a note is shown says
 * nothing about which option is right. Without the options the note cannot be checked and is withheld.
 */
export function authorNoteMayBeShown(note: string, options: NoteOptions | undefined): boolean {
  if (options === undefined || options.length === 0) return false;
  const text = canonicalNote(note);
  if (text.length === 0) return false;
  const lower = text.toLowerCase();
  if (POINTING_WORDS.test(lower) || POSITION_PHRASES.some((p) => p.test(lower))) return false;
  const tokens = tokenize(text);
  const count = Math.max(options.length, 1);
  // The letters a candidate may call the options by, and their ids, whatever they are.
  const ids = new Set<string>();
  for (let k = 0; k < Math.min(count, 26); k++) ids.add(String.fromCharCode(97 + k));
  const longIds: { id: string; text: string }[] = [];
  for (const option of options) {
    const id = canonicalNote(option.id).toLowerCase();
    if (/^\d+$/.test(id)) continue; // numeric ids are positions: checked below with their value
    if (tokenize(id).length === 1) ids.add(id);
    else longIds.push({ id: option.id, text: option.id }); // "x-1": compared like an option text
  }
  const highest = Math.max(count, ...options.map((o) => (/^\d+$/.test(o.id) ? Number(o.id) : 0)));
  if (namesALetterOrId(text, tokens, ids)) return false;
  if (longIds.length > 0 && quotesAnOption(tokens, longIds)) return false;
  if (namesAPosition(text, tokens, highest)) return false;
  if (quotesAnOption(tokens, options)) return false;
  return true;
}
