import type { ResponseOf } from '@ap/protocol';
import { authorNoteMayBeShown, canonicalNote } from './author-note.ts';
import type { NoteOptions } from './author-note.ts';

/** What the assistant knows about an assessment: `assessmentHelpContext`, which holds no key, parameter or score. */
export type HelpContext = ResponseOf<'assessmentHelpContext'>;

/** The sender id of the assistant's messages. */
export const ASSISTANT_ID = 'assistant';

type Intent = 'answer_seeking' | 'time' | 'progress' | 'how_to_answer' | 'clarify' | 'proctor';

// Order matters: a request for the answer is refused even when it also mentions time or options.
const INTENTS: readonly (readonly [Intent, RegExp])[] = [
  [
    'answer_seeking',
    /\b(correct|right|wrong|true|solution|key|cheat|score|grade|mark|result|pass(ing)?|fail(ing)?)\b|\b(what|which)('?s| is| are)?( the)? (answer|option|choice)\b|\bis (it|the answer) [a-z0-9]\b|\b(tell|give|show) me (the )?(answer|solution)\b|\bhint\b|\bdid i get\b|\b(am i|how am i) doing\b|\bdoing (well|ok|okay|good|badly)\b/i,
  ],
  ['time', /\b(time|minutes?|seconds?|hours?|how long|deadline|clock|timer)\b/i],
  [
    'progress',
    /\b(how many|questions? (left|remaining|are there)|remaining|answered|progress|number of questions|how much longer|last question)\b/i,
  ],
  [
    'how_to_answer',
    /\b(how (do|can|should) i (answer|select|choose|submit|pick|go back|skip)|submit|select|keyboard|shortcut|skip|go back|change (my )?answer)\b/i,
  ],
  ['clarify', /\b(what does|mean(s|ing)?|unclear|clarif\w*|understand|confus\w*|typo|ambiguous|explain|wording)\b/i],
  ['proctor', /\b(proctor|human|person|someone|staff|contact|talk to|speak to|help me|problem|issue|broken|bug|stuck)\b/i],
];

function intentOf(text: string): Intent | undefined {
  for (const [intent, pattern] of INTENTS) if (pattern.test(text)) return intent;
  return undefined;
}

function duration(s: number): string {
  const m = Math.floor(s / 60);
  const rest = s % 60;
  if (m === 0) return `${String(rest)} second${rest === 1 ? '' : 's'}`;
  return `${String(m)} minute${m === 1 ? '' : 's'}${rest === 0 ? '' : ` ${String(rest)} second${rest === 1 ? '' : 's'}`}`;
}

const PROCTOR =
  'A proctor watches this conversation: write your question here and they will answer. They can clarify wording, pause the test or give extra time, but not answers.';

/** The reply when the current question has an author's note that could point to an option. */
export const NOTE_WITHHELD = `Notes from the author of this question cannot be shown while you are answering. ${PROCTOR}`;

/**
 * Whether a reply to this message would relay the author's note of the current question, which
 * needs the question's options (`assistantReply`'s third argument) to be checked first.
 */
export function wantsAuthorNote(message: string, context: HelpContext): boolean {
  return intentOf(message) === 'clarify' && context.question?.clarification !== undefined;
}

/**
 * The help assistant: a reply to a candidate's message when it asks something the platform knows
 * (time left, progress, how to answer, the author's clarification, how to reach a proctor), or
 * undefined to leave it to the proctors. It never quotes the candidate's message, and it cannot
 * reveal a key or score: its inputs are the help context and the current question's options,
 * which hold none. The author's note is relayed only when `options` (of the question the note
 * belongs to) show that it names or points to none of them; otherwise, or without them, it is withheld.
 */
export function assistantReply(message: string, context: HelpContext, options?: NoteOptions): string | undefined {
  const intent = intentOf(message);
  if (intent === undefined) return undefined;
  const active = context.status === 'in_progress' || context.status === 'paused' || context.status === 'overdue';
  switch (intent) {
    case 'answer_seeking':
      return 'I cannot help with answers, hints or scores while the test is running. If a question seems wrong or unclear, say what is unclear and a proctor will look at it.';
    case 'time':
      if (!active) return 'This assessment has ended.';
      if (context.status === 'paused') return `The test is paused; the clock is stopped with ${duration(context.time_remaining_s)} left.`;
      if (context.status === 'overdue') return 'The time is up: end the test now to submit what you answered.';
      return `You have ${duration(context.time_remaining_s)} left. ${
        context.on_expiry === 'autosubmit'
          ? 'When the time runs out, what you answered is submitted.'
          : 'When the time runs out you get a short grace period to submit.'
      }`;
    case 'progress': {
      const { min, max } = context.planned;
      const range = min === max ? `${String(max)} questions` : `between ${String(min)} and ${String(max)} questions`;
      const adaptive = context.adaptive ? ' The test adapts to your answers, so the exact number depends on them.' : '';
      const remaining = context.adaptive ? '' : ` (${String(Math.max(0, max - context.answered))} to go)`;
      return `You have answered ${String(context.answered)} question${context.answered === 1 ? '' : 's'}${remaining}; this test has ${range}.${adaptive}`;
    }
    case 'how_to_answer': {
      const n = context.question?.options;
      const keys = n === undefined ? '1–9' : `1–${String(Math.min(n, 9))}`;
      return `Choose one option (click it, use the arrow keys or press ${keys}) and submit with Enter or the Submit button. A submitted answer is final: you cannot go back or skip.`;
    }
    case 'clarify': {
      const note = context.question?.clarification;
      if (note === undefined) return `This question has no author's note. ${PROCTOR}`;
      if (!authorNoteMayBeShown(note, options)) return NOTE_WITHHELD;
      return `The author's note on this question: ${canonicalNote(note)}`;
    }
    case 'proctor':
      return PROCTOR;
  }
}
