/** The words the page shows for protocol values. */
import type { CompletionReason, TestSummary } from '@ap/protocol';
import { formatDuration, plural } from './clock.ts';

const REASONS: Readonly<Record<CompletionReason, string>> = {
  candidate_ended: 'You ended the assessment.',
  max_items: 'You answered the planned number of questions.',
  se_target: 'Your answers measured your level precisely enough, so the assessment stopped early.',
  classified: 'Your answers were enough for a decision, so the assessment stopped early.',
  pool_exhausted: 'There were no more questions to ask.',
  all_answered: 'You answered every question.',
  time_limit: 'The time ran out. Every answer saved before then counts.',
  terminated: 'The assessment was ended by a proctor.',
  abandoned: 'The assessment was closed because it was left unfinished.',
};

/** Why the assessment ended, as a sentence. */
export function reasonText(reason: string): string {
  return (REASONS as Record<string, string | undefined>)[reason] ?? `The assessment ended (${reason}).`;
}

/** How many questions the test asks, in words. */
export function questionCount(test: TestSummary): string {
  const { min, max } = test.planned_items;
  return min === max ? plural(max, 'question') : `between ${min} and ${max} questions`;
}

/** How the candidate chooses and submits an answer on their input device. */
export function answerHint(touch: boolean): string {
  return touch ? 'Tap an option, then tap Submit answer.' : 'Choose with the arrow keys or the number keys 1 to 9; press Enter to submit.';
}

/** The rules shown before the first question; `touch` when the main input is a touch screen, `proctored` when proctors watch live. */
export function rules(test: TestSummary, options: { touch?: boolean; proctored?: boolean } = {}): string[] {
  const list = [
    'You see one question at a time and cannot go back to a question you answered.',
    `The time limit is ${formatDuration(test.time_limit_s)}. It starts when you press Start; then the clock is kept by the server and keeps running if your connection drops or you close the page.`,
    'Each answer is saved as soon as you submit it. If the connection drops, the page reconnects and carries on where you were.',
  ];
  if (test.strategy === 'adaptive') {
    list.push(
      `The questions adapt to your answers, so the test asks ${questionCount(test)}: it stops as soon as it has measured your level.`,
    );
  } else {
    list.push(`There are ${questionCount(test)}.`);
  }
  list.push(
    options.touch === true
      ? 'Tap an option to choose it, then tap Submit answer.'
      : 'Choose an answer with the arrow keys or the number keys 1 to 9, and press Enter to submit it.',
  );
  list.push('Stay on this page: switching tabs or windows and pasting are recorded.');
  if (options.proctored === true) list.push('A proctor watches this assessment live, may pause it, and answers your messages.');
  if (test.show_feedback) list.push('You will see your results when you finish.');
  return list;
}

/** Human name of a skill id (`data-interpretation` → `Data interpretation`). */
export function skillName(skill: string): string {
  const words = skill.replace(/[-_]+/g, ' ').trim();
  return words.length === 0 ? skill : words.charAt(0).toUpperCase() + words.slice(1);
}

/** An ability estimate: `0.42 ± 0.31`, or `0.42` without a standard error. */
export function estimate(theta: number, se: number | undefined): string {
  return se === undefined ? theta.toFixed(2) : `${theta.toFixed(2)} ± ${se.toFixed(2)}`;
}
