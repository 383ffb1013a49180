/**
 * The candidate page: sign in, the test's rules, one question at a time, the help chat and the
 * end screen. Every text from the server is set with `textContent`; the page needs no inline
 * script or style (strict CSP).
 */
import { HttpApiError, redeemInvitation } from '@ap/client';
import { SUPPORT_ROOM_PREFIX } from '@ap/protocol';
import type { AssessmentCompleted, ChatMessage, Progress, Question, Room, TestInfo, TestSummary } from '@ap/protocol';
import { barChart, thetaChart } from './chart.ts';
import type { Bar, ThetaPoint } from './chart.ts';
import { ServerClock, formatClock, formatDuration, plural } from './clock.ts';
import { appendChatMessage, busyButton, byId, cell, loadStored, renderConnectionState, saveStored, setFieldError } from './dom.ts';
import type { ConnectionState } from './link.ts';
import { Session, answerFacts, singleChoiceCount, skillCorrectText, skillShare } from './session.ts';
import type { Feedback, GivenAnswer, SessionListener, Started } from './session.ts';
import { answerHint, estimate, questionCount, reasonText, rules, skillName } from './text.ts';
import { takeLaunchSignIn } from './launch-link.ts';

const STORAGE_KEY = 'assessment.sign-in';

const ui = {
  main: byId('main', HTMLElement),
  testName: byId('test-name', HTMLParagraphElement),
  connection: byId('connection', HTMLParagraphElement),
  connectionText: byId('connection-text', HTMLSpanElement),
  timeWarning: byId('time-warning', HTMLParagraphElement),
  notice: byId('notice', HTMLParagraphElement),
  problem: byId('problem', HTMLParagraphElement),
  screens: {
    loading: byId('screen-loading', HTMLElement),
    signin: byId('screen-signin', HTMLElement),
    intro: byId('screen-intro', HTMLElement),
    question: byId('screen-question', HTMLElement),
    paused: byId('screen-paused', HTMLElement),
    end: byId('screen-end', HTMLElement),
    replaced: byId('screen-replaced', HTMLElement),
  },
  loadingTitle: byId('loading-title', HTMLHeadingElement),
  loadingText: byId('loading-text', HTMLParagraphElement),
  signinTitle: byId('signin-title', HTMLHeadingElement),
  signinForm: byId('signin-form', HTMLFormElement),
  signinButton: byId('signin-button', HTMLButtonElement),
  code: byId('code', HTMLInputElement),
  codeError: byId('code-error', HTMLParagraphElement),
  introTitle: byId('intro-title', HTMLHeadingElement),
  introTimeLimit: byId('intro-time-limit', HTMLElement),
  introQuestions: byId('intro-questions', HTMLElement),
  introTimeLeft: byId('intro-time-left', HTMLElement),
  introRules: byId('intro-rules', HTMLUListElement),
  startButton: byId('start-button', HTMLButtonElement),
  approvalStatus: byId('approval-status', HTMLParagraphElement),
  practice: byId('practice', HTMLElement),
  practiceForm: byId('practice-form', HTMLFormElement),
  practiceStem: byId('practice-stem', HTMLLegendElement),
  practiceOptions: byId('practice-options', HTMLDivElement),
  practiceResult: byId('practice-result', HTMLParagraphElement),
  keysHint: byId('keys-hint', HTMLParagraphElement),
  timer: byId('timer', HTMLSpanElement),
  timerNote: byId('timer-note', HTMLSpanElement),
  progressBar: byId('progress-bar', HTMLProgressElement),
  progressText: byId('progress-text', HTMLSpanElement),
  skills: byId('skills', HTMLElement),
  skillsList: byId('skills-list', HTMLUListElement),
  questionTitle: byId('question-title', HTMLHeadingElement),
  questionForm: byId('question-form', HTMLFormElement),
  questionFieldset: byId('question-fieldset', HTMLFieldSetElement),
  questionStem: byId('question-stem', HTMLLegendElement),
  options: byId('options', HTMLDivElement),
  answerStatus: byId('answer-status', HTMLParagraphElement),
  submitAnswer: byId('submit-answer', HTMLButtonElement),
  endTitle: byId('end-title', HTMLHeadingElement),
  endReason: byId('end-reason', HTMLParagraphElement),
  endFacts: byId('end-facts', HTMLElement),
  endSkills: byId('end-skills', HTMLElement),
  endSkillsBody: byId('end-skills-body', HTMLTableSectionElement),
  endChart: byId('end-chart', HTMLElement),
  endChartSvg: byId('end-chart-svg', HTMLDivElement),
  endChartCaption: byId('end-chart-caption', HTMLElement),
  endAnswersSummary: byId('end-answers-summary', HTMLElement),
  answersList: byId('answers-list', HTMLOListElement),
  pausedTitle: byId('paused-title', HTMLHeadingElement),
  pausedReason: byId('paused-reason', HTMLParagraphElement),
  pausedTimeLeft: byId('paused-time-left', HTMLElement),
  replacedTitle: byId('replaced-title', HTMLHeadingElement),
  help: byId('help', HTMLElement),
  chatLog: byId('chat-log', HTMLOListElement),
  chatForm: byId('chat-form', HTMLFormElement),
  chatTyping: byId('chat-typing', HTMLParagraphElement),
  chatRoomField: byId('chat-room-field', HTMLDivElement),
  chatRoom: byId('chat-room', HTMLSelectElement),
  chatInput: byId('chat-input', HTMLTextAreaElement),
  chatError: byId('chat-error', HTMLParagraphElement),
  chatSend: byId('chat-send', HTMLButtonElement),
};

type ScreenName = keyof typeof ui.screens;
type SignIn = { token: string; test_id?: string | undefined };

const clock = new ServerClock();
let session: Session | undefined;
let screen: ScreenName = 'loading';
let test: TestSummary | undefined;
/** The candidate's time limit before Start: the test's, or longer with their accommodations. */
let timeAllowedS: number | undefined;
let question: Question | undefined;
let connection: ConnectionState = { status: 'closed', reason: 'not started' };
let clockAskedAtZero = false;
let startPressed = false;
let paused = false;
let typingTimer: ReturnType<typeof setTimeout> | undefined;
/** A touch screen is the main input: hints say tap, not keys. */
const touch = window.matchMedia('(pointer: coarse)').matches;
/** The screen to go back to when a pause ends. */
let beforePause: ScreenName = 'loading';

// ---- screens and focus

function show(name: ScreenName, focus?: HTMLElement): void {
  screen = name;
  for (const [key, node] of Object.entries(ui.screens)) node.hidden = key !== name;
  if (focus !== undefined) focus.focus();
}

/** Moves focus to a new question's options only when it would not pull the candidate out of the chat. */
function focusMayMove(): boolean {
  const active = document.activeElement;
  return active === null || active === document.body || ui.main.contains(active);
}

// ---- sign-in

function readSignIn(): SignIn | undefined {
  const value = loadStored(STORAGE_KEY) as Partial<SignIn> | null | undefined;
  return typeof value?.token === 'string'
    ? { token: value.token, test_id: typeof value.test_id === 'string' ? value.test_id : undefined }
    : undefined;
}

function saveSignIn(signIn: SignIn | undefined): void {
  saveStored(STORAGE_KEY, signIn);
}

function showSignIn(message?: string): void {
  ui.help.hidden = true;
  ui.testName.hidden = true;
  setCodeError(message);
  ui.signinButton.disabled = false;
  show('signin', ui.code);
}

function setCodeError(message: string | undefined): void {
  setFieldError(ui.code, ui.codeError, message);
}

ui.signinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = ui.code.value.trim().toUpperCase();
  if (code === '') {
    setCodeError('Enter your invitation code.');
    ui.code.focus();
    return;
  }
  setCodeError(undefined);
  const done = busyButton(ui.signinButton, 'Signing in…');
  redeemInvitation(location.origin, code).then(
    (redeemed) => {
      done();
      const signIn = { token: redeemed.token, test_id: redeemed.test_id };
      saveSignIn(signIn);
      begin(signIn);
    },
    (err: unknown) => {
      done();
      setCodeError(signInError(err));
      ui.code.focus();
    },
  );
});

function signInError(err: unknown): string {
  if (err instanceof HttpApiError) {
    if (err.status === 404 || err.code === 'NOT_FOUND' || err.code === 'AUTH_INVALID')
      return 'This code is not valid, or it was already used. Check it and try again.';
    if (err.code === 'VALIDATION_FAILED') return 'This does not look like an invitation code. Check it and try again.';
    if (err.code === 'RATE_LIMITED') return 'Too many attempts. Wait a minute and try again.';
    return `Signing in failed: ${err.message}`;
  }
  return 'The server cannot be reached. Check your connection and try again.';
}

// ---- the session

function begin(signIn: SignIn): void {
  session?.stop('signed in again');
  ui.loadingTitle.textContent = 'Connecting…';
  ui.loadingText.textContent = 'Opening your assessment.';
  show('loading', ui.loadingTitle);
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/assessment`;
  session = new Session({ url, token: signIn.token, testId: signIn.test_id, listener });
  session.open();
}

const listener: SessionListener = {
  connection(state) {
    connection = state;
    renderConnection();
  },
  info(info) {
    onInfo(info);
  },
  waiting() {
    onWaiting();
  },
  started(started) {
    onStarted(started);
  },
  question(q) {
    renderQuestion(q);
  },
  answer(given, feedback) {
    onAnswer(given, feedback);
  },
  progress(p) {
    renderProgress(p);
  },
  remaining(seconds) {
    clock.sync(seconds, !paused);
    clockAskedAtZero = false;
    renderClock();
  },
  timeWarning(seconds) {
    ui.timeWarning.textContent = `Time warning: ${formatDuration(seconds)} left.`;
    ui.timeWarning.hidden = false;
  },
  timeExtended(extraSeconds, remainingSeconds) {
    ui.timeWarning.textContent = `You were given ${formatDuration(Math.abs(extraSeconds))} ${extraSeconds >= 0 ? 'more' : 'less'}: ${formatDuration(remainingSeconds)} left.`;
    ui.timeWarning.hidden = false;
  },
  paused(reason) {
    onPaused(reason);
  },
  resumed() {
    onResumed();
  },
  completed(completed) {
    renderEnd(completed);
  },
  ended(status) {
    renderEnded(status);
  },
  replaced() {
    ui.help.hidden = true;
    show('replaced', ui.replacedTitle);
    renderConnection();
  },
  chat(message) {
    appendChat(message);
  },
  roomOpened(room) {
    onRoomOpened(room);
  },
  typing(role) {
    ui.chatTyping.textContent = `${SENDERS[role] ?? 'Staff'} is typing…`;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => {
      ui.chatTyping.textContent = '';
    }, 4000);
  },
  signedOut(message) {
    saveSignIn(undefined);
    showSignIn(message);
  },
  problem(message) {
    ui.problem.hidden = message === undefined;
    ui.problem.textContent = message ?? '';
  },
};

function renderConnection(): void {
  renderConnectionState(
    ui.connection,
    ui.connectionText,
    connection,
    screen === 'end' ? 'Finished' : screen === 'replaced' ? 'Closed: continues in another window' : 'Disconnected',
  );
  const pending = session?.pending;
  if (pending !== undefined && question?.question_id === pending.question_id) {
    ui.answerStatus.textContent =
      connection.status === 'open' ? 'Saving your answer…' : 'Your answer is kept and will be sent as soon as the connection is back.';
  }
}

/** The test's facts, read without starting it: the rules, and the whole time limit standing still until Start. */
function onInfo(info: TestInfo): void {
  test = info.test;
  ui.testName.textContent = info.test.title;
  ui.testName.hidden = false;
  ui.introTitle.textContent = info.test.title;
  timeAllowedS = info.time_allowed_s ?? info.test.time_limit_s;
  ui.introTimeLimit.textContent =
    timeAllowedS === info.test.time_limit_s
      ? formatDuration(info.test.time_limit_s)
      : `${formatDuration(timeAllowedS)}, with your extra time (the test's limit is ${formatDuration(info.test.time_limit_s)})`;
  ui.introQuestions.textContent = questionCount(info.test);
  ui.introRules.replaceChildren(
    ...[
      ...rules(info.test, { touch, proctored: info.proctored }),
      ...(info.start_requires_approval ? ['A proctor approves your start: after you press Start, wait here until they do.'] : []),
    ].map((rule) => {
      const li = document.createElement('li');
      li.textContent = rule;
      return li;
    }),
  );
  renderPractice(info.practice);
  if (!startPressed) clock.sync(timeAllowedS, false);
  renderClock();
  if (screen !== 'intro' && !startPressed) show('intro', ui.introTitle);
}

function onStarted(started: Started): void {
  test = started.test;
  ui.testName.textContent = started.test.title;
  ui.testName.hidden = false;
  ui.help.hidden = false;
  // After Start, or a reconnect: the question on screen stays (or is replaced by the current one).
  if (screen === 'question' || screen === 'paused' || startPressed) return;
  // Started before (a reload, another window): straight back to the question, with the time left.
  ui.loadingTitle.textContent = 'Resuming…';
  ui.loadingText.textContent = `Welcome back: ${plural(started.answered, 'answer')} saved. Loading your current question.`;
  if (screen !== 'loading') show('loading', ui.loadingTitle);
}

/** The test requires a proctor's approval: the rules stay on screen, the clock stands still, and the start follows the approval by itself. */
function onWaiting(): void {
  startPressed = true;
  ui.startButton.disabled = true;
  ui.startButton.textContent = 'Waiting for approval…';
  ui.approvalStatus.textContent =
    'A proctor must approve your start. Please wait here: the test opens as soon as they do, and the clock has not started.';
  ui.approvalStatus.hidden = false;
  if (test !== undefined) clock.sync(timeAllowedS ?? test.time_limit_s, false);
  renderClock();
  if (screen !== 'intro') show('intro', ui.approvalStatus);
}

// ---- the practice question: checked here, never sent (not scored, not stored, no clock)

let practiceAnswer: string | undefined;

function renderPractice(practice: TestInfo['practice']): void {
  ui.practice.hidden = practice === null;
  if (practice === null || practiceAnswer !== undefined) return;
  practiceAnswer = practice.answer;
  ui.practiceStem.textContent = practice.stem;
  ui.practiceOptions.replaceChildren(
    ...practice.options.map((option, i) => {
      const label = document.createElement('label');
      label.className = 'option';
      const input = document.createElement('input');
      input.type = 'radio';
      input.name = 'practice';
      input.value = option.id;
      input.id = `practice-option-${i + 1}`;
      input.dataset['text'] = option.text;
      const text = document.createElement('span');
      text.className = 'option-text';
      text.textContent = option.text;
      label.append(input, text);
      return label;
    }),
  );
}

ui.practiceForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const inputs = [...ui.practiceOptions.querySelectorAll<HTMLInputElement>('input[type="radio"]')];
  const chosen = inputs.find((r) => r.checked);
  const right = inputs.find((r) => r.value === practiceAnswer);
  if (chosen === undefined) {
    ui.practiceResult.textContent = 'Choose an answer first.';
    inputs[0]?.focus();
    return;
  }
  ui.practiceResult.dataset['correct'] = String(chosen === right);
  ui.practiceResult.textContent =
    chosen === right ? 'Right: that is the correct answer.' : `Not quite: the correct answer is “${right?.dataset['text'] ?? ''}”.`;
});

ui.startButton.addEventListener('click', () => {
  startPressed = true;
  ui.startButton.disabled = true;
  ui.loadingTitle.textContent = 'Starting…';
  ui.loadingText.textContent = 'Loading the first question.';
  show('loading', ui.loadingTitle);
  session?.begin();
});

// ---- questions

function renderQuestion(q: Question): void {
  const same = question?.question_id === q.question_id;
  const moveFocus = focusMayMove();
  question = q;
  if (!same) {
    ui.questionTitle.textContent = `Question ${q.index + 1}`;
    ui.questionStem.textContent = q.stem;
    // A Likert or partial-credit question: its options are an ordered scale, laid out as one.
    ui.options.className = q.type === 'single_choice' ? 'options' : 'options scale';
    ui.options.dataset['type'] = q.type;
    ui.options.replaceChildren(
      ...q.options.map((option, i) => {
        const label = document.createElement('label');
        label.className = 'option';
        const input = document.createElement('input');
        input.type = 'radio';
        input.name = 'answer';
        input.value = option.id;
        input.id = `option-${i + 1}`;
        const key = document.createElement('span');
        key.className = 'option-key';
        key.setAttribute('aria-hidden', 'true');
        key.textContent = i < 9 ? String(i + 1) : '';
        const text = document.createElement('span');
        text.className = 'option-text';
        text.textContent = option.text;
        label.append(input, key, text);
        return label;
      }),
    );
    ui.answerStatus.textContent = '';
    ui.notice.textContent = '';
  }
  ui.questionFieldset.disabled = false;
  ui.submitAnswer.disabled = false;
  ui.questionForm.dataset['questionId'] = q.question_id;
  if (paused) {
    // The question comes back when the pause ends.
    beforePause = 'question';
    return;
  }
  const wasVisible = screen === 'question';
  if (!wasVisible) show('question');
  if (!same && moveFocus) radios()[0]?.focus();
}

function radios(): HTMLInputElement[] {
  return [...ui.options.querySelectorAll<HTMLInputElement>('input[type="radio"]')];
}

function submitCurrent(): void {
  const q = question;
  if (q === undefined || session === undefined || ui.questionFieldset.disabled) return;
  const chosen = radios().find((r) => r.checked);
  if (chosen === undefined) {
    ui.answerStatus.textContent = 'Choose an answer first.';
    radios()[0]?.focus();
    return;
  }
  session.answer(q, chosen.value);
}

ui.questionForm.addEventListener('submit', (event) => {
  event.preventDefault();
  submitCurrent();
});

function isTextEntry(target: EventTarget | null): boolean {
  return (
    target instanceof HTMLTextAreaElement || (target instanceof HTMLInputElement && target.type !== 'radio' && target.type !== 'checkbox')
  );
}

document.addEventListener('keydown', (event) => {
  if (screen !== 'question' || event.altKey || event.ctrlKey || event.metaKey || isTextEntry(event.target)) return;
  if (/^[1-9]$/.test(event.key)) {
    const radio = radios()[Number(event.key) - 1];
    if (radio === undefined || ui.questionFieldset.disabled) return;
    event.preventDefault();
    radio.checked = true;
    radio.focus();
    ui.answerStatus.textContent = '';
    return;
  }
  if (event.key === 'Enter' && event.target instanceof HTMLInputElement && event.target.type === 'radio') {
    event.preventDefault();
    submitCurrent();
  }
});

function onAnswer(given: GivenAnswer, feedback: Feedback | undefined): void {
  if (!given.acknowledged) {
    ui.questionFieldset.disabled = true;
    ui.submitAnswer.disabled = true;
    ui.answerStatus.textContent =
      session?.ready === true ? 'Saving your answer…' : 'Your answer is kept and will be sent as soon as the connection is back.';
    return;
  }
  const li = document.createElement('li');
  li.dataset['questionId'] = given.question_id;
  li.dataset['option'] = given.selected_option;
  const correct = feedback?.correct === undefined ? '' : feedback.correct ? ' (correct)' : ' (incorrect)';
  li.textContent = `Question ${given.index + 1}: ${given.option_text} — saved${correct}`;
  ui.answersList.append(li);
  ui.endAnswersSummary.textContent = `Your saved answers (${ui.answersList.children.length})`;
  if (question?.question_id === given.question_id) ui.answerStatus.textContent = `Answer saved${correct}. Loading the next question…`;
}

function renderProgress(p: Progress): void {
  const planned = Math.max(p.planned, p.answered, 1);
  ui.progressBar.max = planned;
  ui.progressBar.value = p.answered;
  const range = p.planned_range.min === p.planned_range.max ? '' : ` (the test asks ${p.planned_range.min} to ${p.planned_range.max})`;
  ui.progressText.textContent = `${p.answered} of ${test?.strategy === 'adaptive' ? 'about ' : ''}${planned} answered${range}`;
  const perSkill = test?.strategy === 'adaptive' && p.skills.length > 0;
  ui.skills.hidden = !perSkill;
  if (!perSkill) return;
  ui.skillsList.replaceChildren(
    ...p.skills.map((s) => {
      const li = document.createElement('li');
      const name = document.createElement('span');
      name.textContent = skillName(s.skill);
      const bar = document.createElement('progress');
      const target = Math.max(1, Math.round(s.target ?? s.answered), s.answered);
      bar.max = target;
      bar.value = s.answered;
      bar.setAttribute('aria-label', skillName(s.skill));
      const count = document.createElement('span');
      count.textContent = s.target === undefined ? `${s.answered}` : `${s.answered} of ${target}`;
      li.append(name, bar, count);
      return li;
    }),
  );
}

function renderClock(): void {
  const left = clock.secondsLeft();
  const text = left === undefined ? '–' : formatClock(left);
  if (ui.timer.textContent !== text) ui.timer.textContent = text;
  ui.introTimeLeft.textContent = text;
  ui.pausedTimeLeft.textContent = left === undefined ? '–' : formatDuration(left);
  const low = left !== undefined && left < 60;
  ui.timer.parentElement?.setAttribute('data-low', String(low));
  ui.timerNote.textContent = paused ? '(paused)' : left === 0 ? '(time is up)' : low ? '(less than a minute)' : '';
  // The server decides when time is up: ask it once the interpolation reaches zero.
  if (left === 0 && !paused && !clockAskedAtZero && session?.ready === true) {
    clockAskedAtZero = true;
    session.sync();
  }
}

// ---- end

function renderEnd(completed: AssessmentCompleted): void {
  ui.help.hidden = true;
  ui.timeWarning.hidden = true;
  ui.notice.textContent = '';
  ui.endTitle.textContent = completed.reason === 'time_limit' ? 'Time is up' : 'Assessment complete';
  ui.endReason.textContent = reasonText(completed.reason);
  const facts: [string, string][] = [];
  const result = completed.result;
  if (completed.score !== undefined) facts.push(['Score', formatNumber(completed.score)]);
  if (result !== undefined) {
    facts.push(...answerFacts(result, session?.answers ?? []));
    if (result.theta !== undefined) facts.push(['Ability estimate', estimate(result.theta, result.se)]);
  }
  // After a reload the page has not seen the earlier answers: the result still counts them.
  const saved = session?.answers.length ?? ui.answersList.children.length;
  facts.push(['Answers saved', String(Math.max(saved, result?.answered ?? 0))]);
  ui.endFacts.replaceChildren(
    ...facts.map(([term, value]) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      dd.textContent = value;
      div.append(dt, dd);
      return div;
    }),
  );
  ui.endFacts.hidden = false;
  const skills = result?.skills ?? [];
  ui.endSkills.hidden = skills.length === 0;
  ui.endSkillsBody.replaceChildren(
    ...skills.map((s) => {
      const tr = document.createElement('tr');
      const th = document.createElement('th');
      th.scope = 'row';
      th.textContent = skillName(s.skill);
      const correct = result === undefined ? String(s.correct) : skillCorrectText(s.skill, s.correct, result, session?.answers ?? []);
      tr.append(th, cell(String(s.answered)), cell(correct), cell(s.theta === undefined ? '—' : estimate(s.theta, s.se)));
      return tr;
    }),
  );
  renderChart(completed);
  show('end', ui.endTitle);
  renderConnection();
}

function renderEnded(status: string): void {
  ui.help.hidden = true;
  ui.endTitle.textContent = 'This assessment has ended';
  ui.endReason.textContent =
    status === 'expired'
      ? 'The time ran out. Every answer saved before then counts.'
      : `It is no longer in progress (${status}). Your saved answers are kept.`;
  ui.endFacts.hidden = true;
  ui.endSkills.hidden = true;
  ui.endChart.hidden = true;
  show('end', ui.endTitle);
  renderConnection();
}

function formatNumber(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2);
}

/** The θ trace when the result carries one (`result.trace`), else the skills as bars. */
function renderChart(completed: AssessmentCompleted): void {
  const result = completed.result;
  const trace = traceOf(result);
  let svg: SVGSVGElement | undefined;
  if (trace.length > 0) {
    svg = thetaChart(document, trace, 'chart-trace');
    ui.endChartCaption.textContent = `Your ability estimate after each of your ${trace.length} answers (the band shows ± one standard error).`;
  } else if (result !== undefined && result.skills.length > 0) {
    const withTheta = result.skills.every((s) => s.theta !== undefined);
    const answers = session?.answers ?? [];
    // Percent correct counts single choices only: no bars when a skill's share of them is unknown.
    const shares = result.skills.map((s) => skillShare(s, result, answers));
    const bars: Bar[] = result.skills.map((s, i) =>
      withTheta
        ? { label: skillName(s.skill), value: s.theta ?? 0, detail: estimate(s.theta ?? 0, s.se) }
        : { label: skillName(s.skill), value: shares[i]?.value ?? 0, detail: shares[i]?.detail ?? '' },
    );
    if (!withTheta && shares.some((v) => v === undefined)) {
      ui.endChart.hidden = true;
      ui.endChartSvg.replaceChildren();
      return;
    }
    svg = barChart(
      document,
      bars,
      withTheta ? { min: -3, max: 3, name: 'ability estimate, −3 to 3' } : { min: 0, max: 100, name: 'percent correct' },
      'chart-skills',
    );
    const onlyChoices = singleChoiceCount(result, answers) !== result.answered;
    ui.endChartCaption.textContent = withTheta
      ? 'Ability estimate by skill, on a scale from −3 to 3.'
      : `Share of correct answers by skill${onlyChoices ? ' (single-choice questions only)' : ''}.`;
  }
  ui.endChart.hidden = svg === undefined;
  ui.endChartSvg.replaceChildren(...(svg === undefined ? [] : [svg]));
}

function traceOf(result: AssessmentCompleted['result']): ThetaPoint[] {
  const raw = (result as { trace?: unknown } | undefined)?.trace;
  if (!Array.isArray(raw)) return [];
  const points: ThetaPoint[] = [];
  for (const item of raw as unknown[]) {
    const p = item as { theta?: unknown; se?: unknown } | null;
    if (p === null || typeof p.theta !== 'number') return [];
    points.push({ theta: p.theta, se: typeof p.se === 'number' ? p.se : undefined });
  }
  return points;
}

// ---- pause

function onPaused(reason: string | undefined): void {
  const wasPaused = paused;
  paused = true;
  clock.hold(false);
  if (reason !== undefined && reason.trim() !== '') ui.pausedReason.textContent = `The proctor says: “${reason.trim()}”`;
  else if (!wasPaused) ui.pausedReason.textContent = 'A proctor paused it.';
  ui.notice.textContent = '';
  renderClock();
  if (wasPaused) return;
  if (screen !== 'end' && screen !== 'replaced' && screen !== 'signin') {
    beforePause = screen;
    show('paused', focusMayMove() ? ui.pausedTitle : undefined);
  }
}

function onResumed(): void {
  if (!paused) return;
  paused = false;
  clock.hold(true);
  renderClock();
  if (screen !== 'paused') return;
  ui.notice.textContent = 'Your assessment was resumed: the clock is running again.';
  if (beforePause === 'question' && question !== undefined) {
    show('question');
    if (focusMayMove()) (radios().find((r) => r.checked) ?? radios()[0])?.focus();
  } else {
    show(beforePause, focusMayMove() ? (ui.screens[beforePause].querySelector<HTMLElement>('h1') ?? undefined) : undefined);
  }
}

// ---- help chat

const SENDERS: Readonly<Record<string, string>> = {
  candidate: 'You',
  proctor: 'Proctor',
  assistant: 'Assistant',
  recruiter: 'Recruiter',
  admin: 'Administrator',
};

function appendChat(message: ChatMessage): void {
  const sender = SENDERS[message.sender_role] ?? message.sender_role;
  const note = message.room_id.startsWith(SUPPORT_ROOM_PREFIX)
    ? 'support'
    : message.sender_role === 'assistant'
      ? 'automatic reply'
      : undefined;
  appendChatMessage(ui.chatLog, message, sender, note);
  if (message.sender_role !== 'candidate') ui.chatTyping.textContent = '';
}

/** A recruiter opened a support conversation: say so in the log, and let the candidate answer there. */
function onRoomOpened(room: Room): void {
  const li = document.createElement('li');
  li.className = 'chat-system';
  li.dataset['createdAt'] = room.created_at ?? new Date().toISOString();
  const topic = room.topic !== undefined && room.topic !== '' ? `: ${room.topic}` : '';
  li.textContent = `A recruiter opened a support conversation${topic}. Their messages are marked “support”.`;
  ui.chatLog.append(li);
  ui.chatLog.scrollTop = ui.chatLog.scrollHeight;
  const option = document.createElement('option');
  option.value = room.room_id;
  option.textContent = `Support${topic}`;
  ui.chatRoom.append(option);
  // Before Start the proctor's room does not exist yet: the help panel opens for this conversation.
  if (ui.help.hidden && screen !== 'end' && screen !== 'replaced') {
    ui.help.hidden = false;
    ui.chatRoom.value = room.room_id;
  }
  ui.chatRoomField.hidden = false;
}

function sendChat(): void {
  const text = ui.chatInput.value.trim();
  if (text === '' || session === undefined) return;
  ui.chatSend.disabled = true;
  ui.chatError.hidden = true;
  session.chat(text, ui.chatRoom.value === '' ? undefined : ui.chatRoom.value).then(
    () => {
      ui.chatInput.value = '';
      ui.chatSend.disabled = false;
    },
    (err: unknown) => {
      ui.chatSend.disabled = false;
      ui.chatError.textContent = err instanceof Error ? err.message : 'The message was not sent.';
      ui.chatError.hidden = false;
    },
  );
}

ui.chatForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendChat();
});

ui.chatInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendChat();
  }
});

// ---- integrity signals, recorded on the assessment for the proctors

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'hidden') session?.integrity('tab_hidden');
});
window.addEventListener('blur', () => session?.integrity('focus_lost'));
document.addEventListener('paste', () => session?.integrity('paste'));
window.addEventListener('online', () => session?.retryNow());

// ---- start

setInterval(() => {
  renderClock();
  if (connection.status === 'waiting') renderConnection();
}, 250);

function boot(): void {
  ui.keysHint.textContent = answerHint(touch);
  const launched = takeLaunchSignIn();
  if (launched !== undefined) {
    const signIn: SignIn = { token: launched.token, test_id: launched.test_id };
    saveSignIn(signIn);
    begin(signIn);
    return;
  }
  const params = new URLSearchParams(location.search);
  const linkToken = params.get('token');
  if (linkToken !== null && linkToken !== '') {
    // Keep the token out of the address bar, the history and any later Referer.
    history.replaceState(null, '', location.pathname);
    const signIn: SignIn = { token: linkToken, test_id: params.get('test_id') ?? undefined };
    saveSignIn(signIn);
    begin(signIn);
    return;
  }
  const linkCode = params.get('code');
  if (linkCode !== null && linkCode !== '') {
    // An invitation link (`/?code=…`, from the recruiter's page) fills in the code; signing in stays the candidate's step.
    history.replaceState(null, '', location.pathname);
    ui.code.value = linkCode.slice(0, 128);
  }
  const stored = readSignIn();
  if (stored !== undefined) begin(stored);
  else showSignIn();
}

boot();
