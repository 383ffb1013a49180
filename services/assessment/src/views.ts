import { AppError } from '@ap/protocol';
import type { AssessmentCompleted, Grade, Progress, Question, ResponseOf, TestSummary } from '@ap/protocol';
import { resultSummary } from './live.ts';
import { isActive, secondsLeft } from './rules.ts';
import type { LoadedTest } from './selection.ts';
import type { AssessmentDoc, ResponseDoc } from './store.ts';

/** The test as candidates and staff may see it. */
export function summary(test: LoadedTest): TestSummary {
  const d = test.doc;
  return {
    test_id: d._id,
    title: d.title,
    strategy: d.strategy,
    time_limit_s: d.time_limit_s,
    planned_items: test.planned,
    skills: [...new Set(test.bank.map((b) => b.skill))],
    show_feedback: d.feedback.show_correctness,
    time_warnings_s: d.time_warnings_s,
    on_expiry: d.on_expiry,
    grace_s: d.grace_s,
  };
}

/** A question as the candidate sees it: never the key. */
export function questionView(a: AssessmentDoc, test: LoadedTest, itemId: string, index: number, now: Date): Question {
  const item = test.items.get(itemId);
  if (item === undefined) throw new AppError('INTERNAL', 'item missing from test');
  return {
    assessment_id: a._id,
    question_id: item._id,
    index,
    type: item.type,
    stem: item.stem,
    options: item.options.map((o) => ({ id: o.id, text: o.text })),
    skill: item.skill,
    time_remaining_s: secondsLeft(a, now),
  };
}

/**
 * The acknowledgement of an answer; correctness only when the test shows it, and the question
 * asked next when there is one (so that the client needs no `get_question` for it).
 */
export function feedbackView(
  a: AssessmentDoc,
  test: LoadedTest,
  r: ResponseDoc,
  finished: boolean,
  now: Date,
): ResponseOf<'assessmentAnswer'>['feedback'] {
  const next = !finished && a.status === 'in_progress' && a.current !== null ? a.current : undefined;
  return {
    assessment_id: a._id,
    question_id: r.item_id,
    accepted: true,
    selected_option: r.selected_option,
    // Likert and partial-credit answers have a category and no right answer.
    ...(r.category !== undefined ? { category: r.category } : test.doc.feedback.show_correctness ? { correct: r.correct } : {}),
    answered: a.responses.length,
    finished,
    ...(next === undefined ? {} : { next_question: questionView(a, test, next.item_id, next.index, now) }),
  };
}

/** Progress: answered of planned, per skill, and the time left. */
export function progressView(a: AssessmentDoc, test: LoadedTest, now: Date): Progress {
  const answered = a.responses.length;
  const finished = !isActive(a.status);
  const planned = finished ? answered : Math.max(answered, a.planned.max);
  const counts = new Map<string, number>();
  for (const r of a.responses) counts.set(r.skill, (counts.get(r.skill) ?? 0) + 1);
  const skills = [...new Set([...test.doc.skills.map((s) => s.name), ...test.bank.map((b) => b.skill)])];
  return {
    assessment_id: a._id,
    status: a.status,
    answered,
    planned,
    planned_range: a.planned,
    percent: planned === 0 ? 100 : Math.min(100, Math.round((1000 * answered) / planned) / 10),
    time_remaining_s: finished ? 0 : secondsLeft(a, now),
    skills: skills.map((skill) => {
      const target = test.doc.skills.find((s) => s.name === skill);
      const share = target?.share;
      return {
        skill,
        answered: counts.get(skill) ?? 0,
        ...(share === undefined ? {} : { target: Math.round(share * a.planned.max) }),
      };
    }),
  };
}

/**
 * The grade of a finished assessment, for integrations (the stream event): the scaled score above
 * the scoring's minimum out of its range on adaptive tests, the percentage correct otherwise.
 */
export function gradeOf(a: AssessmentDoc, test: LoadedTest): Grade | undefined {
  const r = a.result;
  if (r === null) return undefined;
  const { min, max } = test.doc.scoring;
  if (r.scaled_score !== undefined && max > min) {
    return { given: Math.min(max - min, Math.max(0, r.scaled_score - min)), maximum: max - min };
  }
  return { given: r.percent_correct, maximum: 100 };
}

/**
 * The end of an assessment as the candidate sees it. The θ trace shows which answers were correct
 * (θ rises exactly on them), so it is left out when the test hides correctness.
 */
export function completedView(a: AssessmentDoc, test: LoadedTest): AssessmentCompleted {
  const showScore = test.doc.feedback.show_score && a.result !== null;
  const result = a.result;
  return {
    assessment_id: a._id,
    status: a.status,
    reason: a.reason ?? 'candidate_ended',
    finished_at: (a.finished_at ?? a.updated_at).toISOString(),
    ...(showScore && result !== null
      ? {
          score: result.scaled_score ?? result.percent_correct,
          result: {
            ...resultSummary(result),
            ...(test.doc.feedback.show_correctness ? { trace: result.trace.map((t) => ({ theta: t.theta, se: t.se })) } : {}),
          },
        }
      : {}),
  };
}
