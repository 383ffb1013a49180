/**
 * The recruiter's workspace: sign-in, the tests with their counts, creating a test (from a bank
 * file or items already in the bank), invitations one by one or from a CSV file, the results
 * table (sorted, filtered, paged), one candidate's report, the CSV export, and item statistics.
 * Every call goes through `recruiter-session.ts`; text from the server is set with `textContent`.
 */
import { isFinal, isOpen } from '@ap/protocol';
import type { Accommodations, AssessmentStatus, CompletionReason } from '@ap/protocol';
import { barChart, iccChart, thetaChart } from './chart.ts';
import { formatDuration } from './clock.ts';
import { busyButton, byId, cell, setFieldError } from './dom.ts';
import {
  ApiBodyError,
  BankRejected,
  HttpApiError,
  RecruiterApi,
  forgetSignIn,
  csvAccommodations,
  categoryCurves,
  parseInviteesCsv,
  resultsCsv,
  signIn,
  storedSignIn,
} from './recruiter-session.ts';
import type {
  AssessmentReport,
  Invitation,
  InvitationRequest,
  LtiPlatforms,
  PolyCurve,
  RecruiterSignIn,
  RecruiterTests,
  ResultRow,
} from './recruiter-session.ts';
import { takeLaunchSignIn } from './launch-link.ts';
import { adoptSignIn } from './recruiter-session.ts';

const ui = {
  screens: {
    signin: byId('screen-signin', HTMLElement),
    tests: byId('screen-tests', HTMLElement),
    test: byId('screen-test', HTMLElement),
  },
  signedInAs: byId('signed-in-as', HTMLParagraphElement),
  signOut: byId('sign-out', HTMLButtonElement),
  problem: byId('problem', HTMLParagraphElement),
  announcer: byId('announcer', HTMLParagraphElement),
  signinTitle: byId('signin-title', HTMLHeadingElement),
  signinForm: byId('signin-form', HTMLFormElement),
  email: byId('email', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  signinError: byId('signin-error', HTMLParagraphElement),
  signinButton: byId('signin-button', HTMLButtonElement),
  testsTitle: byId('tests-title', HTMLHeadingElement),
  testsRows: byId('tests-rows', HTMLTableSectionElement),
  testsEmpty: byId('tests-empty', HTMLParagraphElement),
  createForm: byId('create-form', HTMLFormElement),
  createName: byId('create-name', HTMLInputElement),
  createMinutes: byId('create-minutes', HTMLInputElement),
  createStrategy: byId('create-strategy', HTMLSelectElement),
  createMax: byId('create-max', HTMLInputElement),
  createCut: byId('create-cut', HTMLInputElement),
  createBank: byId('create-bank', HTMLInputElement),
  createItems: byId('create-items', HTMLTextAreaElement),
  createError: byId('create-error', HTMLParagraphElement),
  bankErrors: byId('bank-errors', HTMLUListElement),
  lti: {
    tool: byId('lti-tool', HTMLDListElement),
    platforms: byId('lti-platforms', HTMLUListElement),
    form: byId('lti-form', HTMLFormElement),
    issuer: byId('lti-issuer', HTMLInputElement),
    client: byId('lti-client', HTMLInputElement),
    deployments: byId('lti-deployments', HTMLInputElement),
    jwks: byId('lti-jwks', HTMLInputElement),
    auth: byId('lti-auth', HTMLInputElement),
    token: byId('lti-token', HTMLInputElement),
    error: byId('lti-error', HTMLParagraphElement),
    button: byId('lti-button', HTMLButtonElement),
  },
  createButton: byId('create-button', HTMLButtonElement),
  back: byId('back', HTMLButtonElement),
  testTitle: byId('test-title', HTMLHeadingElement),
  testFacts: byId('test-facts', HTMLParagraphElement),
  inviteForm: byId('invite-form', HTMLFormElement),
  inviteEmail: byId('invite-email', HTMLInputElement),
  inviteName: byId('invite-name', HTMLInputElement),
  inviteDays: byId('invite-days', HTMLInputElement),
  inviteUses: byId('invite-uses', HTMLInputElement),
  inviteMultiplier: byId('invite-multiplier', HTMLInputElement),
  inviteExtra: byId('invite-extra', HTMLInputElement),
  inviteButton: byId('invite-button', HTMLButtonElement),
  bulkForm: byId('bulk-form', HTMLFormElement),
  inviteCsv: byId('invite-csv', HTMLInputElement),
  bulkButton: byId('bulk-button', HTMLButtonElement),
  inviteError: byId('invite-error', HTMLParagraphElement),
  inviteErrors: byId('invite-errors', HTMLUListElement),
  invitations: byId('invitations', HTMLDivElement),
  invitationRows: byId('invitation-rows', HTMLTableSectionElement),
  resultsFilter: byId('results-filter', HTMLSelectElement),
  resultsRefresh: byId('results-refresh', HTMLButtonElement),
  resultsCsv: byId('results-csv', HTMLButtonElement),
  resultsSummary: byId('results-summary', HTMLParagraphElement),
  resultsTable: byId('results-table', HTMLTableElement),
  resultsRows: byId('results-rows', HTMLTableSectionElement),
  resultsMore: byId('results-more', HTMLButtonElement),
  report: byId('report', HTMLElement),
  reportTitle: byId('report-title', HTMLHeadingElement),
  reportFacts: byId('report-facts', HTMLDListElement),
  reportSkills: byId('report-skills-figure', HTMLElement),
  reportTrace: byId('report-trace-figure', HTMLElement),
  reportTimeline: byId('report-timeline', HTMLOListElement),
  reportAnswers: byId('report-answers', HTMLTableSectionElement),
  itemsSummary: byId('items-summary', HTMLParagraphElement),
  itemsRows: byId('items-rows', HTMLTableSectionElement),
};

type Screen = keyof typeof ui.screens;
type SortKey = 'candidate_name' | 'status' | 'started_at' | 'answered' | 'score' | 'theta' | 'incidents';
type TestRow = RecruiterTests[number];

let api: RecruiterApi | undefined;
let tests: RecruiterTests = [];
let current: TestRow | undefined;
/** The results read so far of the open test, and the cursor of the next page. */
let results: ResultRow[] = [];
let nextCursor: string | null = null;
/** Pages of results read since the first (the periodic refresh reads only the first). */
let pagesRead = 0;
let sort: { key: SortKey; descending: boolean } = { key: 'started_at', descending: true };

/** The test open on the page now (it may have changed while a request was on its way). */
function openTestId(): string | undefined {
  return current?.test_id;
}

function show(screen: Screen, focus?: HTMLElement): void {
  for (const [name, el] of Object.entries(ui.screens)) el.hidden = name !== screen;
  (focus ?? ui.screens[screen].querySelector<HTMLElement>('h1'))?.focus();
}

function setProblem(message: string | undefined): void {
  ui.problem.hidden = message === undefined;
  ui.problem.textContent = message ?? '';
}

function announce(message: string): void {
  ui.announcer.textContent = message;
}

/** What to tell the recruiter about a failed request; an expired sign-in goes back to the sign-in screen. */
function failure(err: unknown): string {
  if (err instanceof HttpApiError) {
    if (err.code === 'AUTH_INVALID' || err.code === 'AUTH_REQUIRED' || err.code === 'TOKEN_EXPIRED') {
      forgetSignIn();
      showSignIn('Your sign-in has expired. Sign in again.');
    }
    return err instanceof ApiBodyError ? err.serverMessage : err.message;
  }
  return 'The server cannot be reached. Check your connection and try again.';
}

const number = (n: number | null | undefined, digits = 0): string => (n === null || n === undefined ? '—' : n.toFixed(digits));
const dateTime = (iso: string | null): string => {
  if (iso === null) return '—';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '—' : at.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
};
const STATUS_TEXT: Record<AssessmentStatus, string> = {
  created: 'Not started',
  in_progress: 'In progress',
  paused: 'Paused',
  completed: 'Completed',
  expired: 'Time ran out',
  overdue: 'Past the deadline',
  abandoned: 'Abandoned',
  terminated: 'Terminated',
};

/** A pass/fail test's decision in words. */
const DECISION_TEXT = { pass: 'pass', fail: 'fail', undecided: 'undecided' } as const;

/** Why an assessment ended, as the recruiter reads it. */
const REASON_TEXT: Partial<Record<CompletionReason, string>> = {
  candidate_ended: 'the candidate ended it',
  max_items: 'the planned number of questions was reached',
  se_target: 'the ability was measured precisely enough',
  pool_exhausted: 'no questions were left',
  all_answered: 'every question was answered',
  time_limit: 'the time ran out',
  terminated: 'a proctor ended it',
  abandoned: 'it was left unfinished',
  classified: 'the pass/fail decision was reached',
};

// ---- sign-in

function showSignIn(message?: string): void {
  api = undefined;
  ui.signedInAs.hidden = true;
  ui.signOut.hidden = true;
  setFieldError(ui.email, ui.signinError, message);
  setFieldError(ui.password, ui.signinError, message);
  show('signin', ui.email.value === '' ? ui.email : ui.password);
}

ui.signinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const email = ui.email.value.trim();
  const password = ui.password.value;
  if (email === '' || password === '') {
    setFieldError(ui.email, ui.signinError, 'Enter your email and your password.');
    (email === '' ? ui.email : ui.password).focus();
    return;
  }
  const done = busyButton(ui.signinButton, 'Signing in…');
  signIn(email, password).then(
    (session) => {
      done();
      ui.password.value = '';
      setFieldError(ui.email, ui.signinError, undefined);
      setFieldError(ui.password, ui.signinError, undefined);
      begin(session);
    },
    (err: unknown) => {
      done();
      const message =
        err instanceof HttpApiError
          ? err.code === 'AUTH_INVALID' || err.status === 401
            ? 'The email or the password is not right.'
            : err.code === 'RATE_LIMITED'
              ? 'Too many attempts. Wait a minute and try again.'
              : err.code === 'FORBIDDEN'
                ? 'This page is for recruiters. Proctors watch assessments at /proctor.'
                : `Signing in failed: ${err.message}`
          : 'The server cannot be reached. Check your connection and try again.';
      setFieldError(ui.email, ui.signinError, message);
      setFieldError(ui.password, ui.signinError, message);
      ui.password.focus();
    },
  );
});

ui.signOut.addEventListener('click', () => {
  forgetSignIn();
  showSignIn();
});

function begin(session: RecruiterSignIn): void {
  api = new RecruiterApi(session);
  ui.signedInAs.textContent = `Signed in as ${session.email}`;
  ui.signedInAs.hidden = false;
  ui.signOut.hidden = false;
  void openTests();
}

// ---- the tests

async function openTests(focus?: HTMLElement): Promise<void> {
  show('tests', focus);
  await Promise.all([loadTests(), loadLti()]);
}

async function loadTests(): Promise<void> {
  if (api === undefined) return;
  try {
    tests = await api.tests();
    setProblem(undefined);
  } catch (err) {
    setProblem(`The tests could not be read: ${failure(err)}`);
    return;
  }
  ui.testsRows.replaceChildren(...tests.map(testRow));
  ui.testsEmpty.hidden = tests.length > 0;
}

function testRow(t: TestRow): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset['testId'] = t.test_id;
  const th = document.createElement('th');
  th.scope = 'row';
  const open = document.createElement('button');
  open.type = 'button';
  open.className = 'link-button';
  open.textContent = t.title;
  open.addEventListener('click', () => void openTest(t));
  const detail = document.createElement('span');
  detail.className = 'candidate-detail';
  detail.textContent = `${t.strategy}, ${formatDuration(t.time_limit_s)}`;
  th.append(open, detail);
  tr.append(
    th,
    numCell(String(t.items)),
    numCell(String(t.invited)),
    numCell(String(t.started)),
    numCell(String(t.finished)),
    numCell(number(t.average_score, 1)),
  );
  return tr;
}

function numCell(text: string): HTMLTableCellElement {
  const td = cell(text);
  td.className = 'num';
  return td;
}

// ---- LMS connections (LTI 1.3)

async function loadLti(): Promise<void> {
  if (api === undefined) return;
  let reply: LtiPlatforms;
  try {
    reply = await api.ltiPlatforms();
  } catch (err) {
    setFieldError(ui.lti.issuer, ui.lti.error, `The LMS connections could not be read: ${failure(err)}`);
    return;
  }
  const facts: [string, string][] = [
    ['Login initiation URL', reply.tool.login_url],
    ['Redirect (launch) URL', reply.tool.launch_url],
    ['Public keyset URL', reply.tool.jwks_url],
  ];
  ui.lti.tool.replaceChildren(
    ...facts.flatMap(([term, value]) => {
      const dt = document.createElement('dt');
      dt.textContent = term;
      const dd = document.createElement('dd');
      const code = document.createElement('code');
      code.textContent = value;
      dd.append(code);
      return [dt, dd];
    }),
  );
  ui.lti.platforms.replaceChildren(
    ...reply.platforms.map((p) => {
      const li = document.createElement('li');
      li.dataset['platformId'] = p.platform_id;
      li.textContent = `${p.name === '' ? p.issuer : p.name}: issuer ${p.issuer}, client id ${p.client_id}, deployments ${p.deployment_ids.join(', ')}`;
      return li;
    }),
  );
}

ui.lti.form.addEventListener('submit', (event) => {
  event.preventDefault();
  void registerLti();
});

async function registerLti(): Promise<void> {
  if (api === undefined) return;
  const l = ui.lti;
  const missing = [l.issuer, l.client, l.deployments, l.jwks, l.auth, l.token].find((input) => input.value.trim() === '');
  if (missing !== undefined) {
    setFieldError(missing, l.error, 'Fill in every field: the LMS shows them where it lists this tool.');
    missing.focus();
    return;
  }
  setFieldError(l.issuer, l.error, undefined);
  const done = busyButton(l.button, 'Registering…');
  try {
    const reply = await api.registerLti({
      issuer: l.issuer.value.trim(),
      client_id: l.client.value.trim(),
      deployment_ids: l.deployments.value
        .split(',')
        .map((d) => d.trim())
        .filter((d) => d !== ''),
      jwks_url: l.jwks.value.trim(),
      auth_login_url: l.auth.value.trim(),
      token_url: l.token.value.trim(),
    });
    l.form.reset();
    announce(`${reply.created ? 'Registered' : 'Updated'} the LMS ${reply.platform.issuer}.`);
    await loadLti();
  } catch (err) {
    setFieldError(l.issuer, l.error, `The LMS was not registered: ${failure(err)}`);
    l.issuer.focus();
  } finally {
    done();
  }
}

// ---- creating a test

ui.createForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void createTest();
});

async function createTest(): Promise<void> {
  if (api === undefined) return;
  ui.bankErrors.hidden = true;
  ui.bankErrors.replaceChildren();
  const title = ui.createName.value.trim();
  const minutes = Number(ui.createMinutes.value);
  const maxItems = ui.createMax.value === '' ? undefined : Number(ui.createMax.value);
  const cut = ui.createCut.value === '' ? undefined : Number(ui.createCut.value);
  const strategy = ui.createStrategy.value as 'fixed' | 'random' | 'adaptive';
  const file = ui.createBank.files?.[0];
  const itemIds = ui.createItems.value
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const problem =
    title === ''
      ? 'Give the test a title.'
      : !Number.isInteger(minutes) || minutes < 1 || minutes > 1440
        ? 'The time limit is a whole number of minutes, 1 to 1440.'
        : maxItems !== undefined && (!Number.isInteger(maxItems) || maxItems < 1)
          ? 'Questions per candidate is a whole number from 1.'
          : cut !== undefined && (!Number.isFinite(cut) || cut < -6 || cut > 6)
            ? 'The pass mark is a θ from −6 to 6.'
            : cut !== undefined && strategy !== 'adaptive'
              ? 'A pass mark needs an adaptive test.'
              : file === undefined && itemIds.length === 0
                ? 'Upload a bank file or name the items.'
                : undefined;
  setFieldError(ui.createName, ui.createError, problem);
  if (problem !== undefined) {
    ui.createName.focus();
    return;
  }
  const done = busyButton(ui.createButton, 'Creating…');
  try {
    let ids = itemIds;
    if (file !== undefined) {
      const format = /\.json$/i.test(file.name) ? 'json' : 'yaml';
      const imported = await api.importBank(format, await file.text());
      ids = [...imported.item_ids, ...itemIds];
    }
    const created = await api.createTest({
      definition: {
        title,
        time_limit_s: minutes * 60,
        strategy,
        items: ids,
        ...(maxItems === undefined ? {} : { stopping: { max_items: maxItems } }),
        // A pass mark decides pass or fail by the ability's confidence interval against it.
        ...(cut === undefined ? {} : { classification: { rule: 'CI' as const, cut_theta: cut } }),
      },
    });
    ui.createForm.reset();
    announce(`Test "${title}" created with ${created.items} questions.`);
    await loadTests();
    const row = ui.testsRows.querySelector<HTMLElement>(`tr[data-test-id="${CSS.escape(created.test_id)}"] button`);
    row?.focus();
  } catch (err) {
    if (err instanceof BankRejected) {
      setFieldError(ui.createBank, ui.createError, `${err.message}. Fix the file and upload it again.`);
      ui.bankErrors.replaceChildren(
        ...err.errors.map((e) => {
          const li = document.createElement('li');
          li.textContent = `Item ${e.item}, field ${e.field}: ${e.message}`;
          return li;
        }),
      );
      ui.bankErrors.hidden = err.errors.length === 0;
      ui.createBank.focus();
    } else {
      setFieldError(ui.createName, ui.createError, `The test was not created: ${failure(err)}`);
    }
  } finally {
    done();
  }
}

// ---- one test

ui.back.addEventListener('click', () => {
  const id = current?.test_id;
  current = undefined;
  void openTests().then(() => {
    if (id !== undefined) ui.testsRows.querySelector<HTMLElement>(`tr[data-test-id="${CSS.escape(id)}"] button`)?.focus();
  });
});

async function openTest(t: TestRow): Promise<void> {
  current = t;
  ui.testTitle.textContent = t.title;
  ui.testFacts.textContent = `${t.strategy} test, ${t.items} questions, ${formatDuration(t.time_limit_s)}. Test id ${t.test_id}.`;
  ui.invitationRows.replaceChildren();
  ui.invitations.hidden = true;
  ui.inviteErrors.hidden = true;
  setFieldError(ui.inviteEmail, ui.inviteError, undefined);
  ui.report.hidden = true;
  show('test');
  await Promise.all([loadResults(true), loadItemStats()]);
}

// ---- invitations

ui.inviteForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void inviteOne();
});

ui.bulkForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void inviteFromCsv();
});

/** What every invitation made now shares: how long it is valid and the time accommodation set on the form. */
function invitationBase(): { expires_in_s: number; accommodations?: Accommodations } | undefined {
  const days = Number(ui.inviteDays.value || '7');
  if (!Number.isInteger(days) || days < 1 || days > 90) return undefined;
  const accommodations = csvAccommodations(ui.inviteMultiplier.value.trim(), ui.inviteExtra.value.trim());
  if (accommodations === null) return undefined;
  const plain = accommodations === undefined || (accommodations.time_multiplier === 1 && accommodations.extra_seconds === 0);
  return { expires_in_s: days * 24 * 3600, ...(plain ? {} : { accommodations }) };
}

const INVALID_BASE = 'An invitation is valid for 1 to 90 days; a time multiplier is 1 to 4 and extra seconds 0 to 14400.';

async function inviteOne(): Promise<void> {
  if (api === undefined || current === undefined) return;
  const email = ui.inviteEmail.value.trim();
  const name = ui.inviteName.value.trim();
  const uses = Number(ui.inviteUses.value || '1');
  const base = invitationBase();
  const problem =
    base === undefined
      ? INVALID_BASE
      : email !== '' && !/^[^@\s]+@[^@\s]+$/.test(email)
        ? 'Enter a valid email address, or leave it empty for an open code.'
        : !Number.isInteger(uses) || uses < 1
          ? 'Uses is a whole number from 1.'
          : undefined;
  setFieldError(ui.inviteEmail, ui.inviteError, problem);
  if (problem !== undefined || base === undefined) {
    ui.inviteEmail.focus();
    return;
  }
  const body: InvitationRequest = {
    ...base,
    candidate_name: name,
    ...(email === '' ? { max_uses: uses } : { candidate_email: email }),
  };
  const done = busyButton(ui.inviteButton, 'Inviting…');
  try {
    const invitation = await api.invite(current.test_id, body);
    addInvitation(email === '' ? name || 'Open code' : `${name} <${email}>`, invitation);
    ui.inviteForm.reset();
    announce(`Invitation created. Code ${invitation.code}.`);
    ui.inviteEmail.focus();
  } catch (err) {
    setFieldError(ui.inviteEmail, ui.inviteError, `Not invited: ${failure(err)}`);
  } finally {
    done();
  }
}

async function inviteFromCsv(): Promise<void> {
  if (api === undefined || current === undefined) return;
  const file = ui.inviteCsv.files?.[0];
  const base = invitationBase();
  if (file === undefined || base === undefined) {
    setFieldError(ui.inviteCsv, ui.inviteError, file === undefined ? 'Choose a CSV file first.' : INVALID_BASE);
    ui.inviteCsv.focus();
    return;
  }
  setFieldError(ui.inviteCsv, ui.inviteError, undefined);
  const { invitees, errors } = parseInviteesCsv(await file.text());
  const done = busyButton(ui.bulkButton, 'Inviting…');
  let invited = 0;
  const testId = current.test_id;
  for (const person of invitees) {
    try {
      const invitation = await api.invite(testId, {
        ...base,
        candidate_email: person.email,
        candidate_name: person.name,
        ...(person.accommodations === undefined ? {} : { accommodations: person.accommodations }),
      });
      addInvitation(person.name === '' ? person.email : `${person.name} <${person.email}>`, invitation);
      invited += 1;
    } catch (err) {
      errors.push({ line: person.line, message: failure(err) });
    }
  }
  done();
  errors.sort((a, b) => a.line - b.line);
  ui.inviteErrors.replaceChildren(
    ...errors.map((e) => {
      const li = document.createElement('li');
      li.textContent = `Line ${e.line}: ${e.message}`;
      return li;
    }),
  );
  ui.inviteErrors.hidden = errors.length === 0;
  const summary = `${invited} invited from ${file.name}${errors.length > 0 ? `; ${errors.length} line(s) not invited` : ''}.`;
  if (errors.length > 0) setFieldError(ui.inviteCsv, ui.inviteError, summary);
  announce(summary);
  ui.bulkForm.reset();
}

function addInvitation(who: string, invitation: Invitation): void {
  const link = `${location.origin}/?code=${encodeURIComponent(invitation.code)}`;
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = who;
  tr.append(th, copyCell(invitation.code, 'code', who), copyCell(link, 'link', who), cell(dateTime(invitation.expires_at)));
  tr.append(numCell(String(invitation.max_uses)));
  ui.invitationRows.append(tr);
  ui.invitations.hidden = false;
}

/** A cell with a value and a button that copies it (named for whose it is). */
function copyCell(value: string, what: 'code' | 'link', who: string): HTMLTableCellElement {
  const td = document.createElement('td');
  const text = document.createElement('code');
  text.className = what === 'code' ? 'invitation-code' : 'invitation-link';
  text.textContent = value;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary small';
  button.textContent = 'Copy';
  button.setAttribute('aria-label', `Copy the ${what} of ${who}`);
  button.addEventListener('click', () => {
    // Outside a secure context there is no clipboard: the promise chain turns that into the fallback below.
    Promise.resolve()
      .then(() => navigator.clipboard.writeText(value))
      .then(
        () => announce(`The ${what} was copied.`),
        () => {
          // Without clipboard access the text is selected so that the recruiter can copy it.
          const range = document.createRange();
          range.selectNodeContents(text);
          getSelection()?.removeAllRanges();
          getSelection()?.addRange(range);
          announce(`The ${what} is selected: copy it with the keyboard.`);
        },
      );
  });
  td.append(text, ' ', button);
  return td;
}

// ---- results

ui.resultsFilter.addEventListener('change', renderResults);
ui.resultsRefresh.addEventListener('click', () => void Promise.all([loadResults(true), loadItemStats()]));
ui.resultsMore.addEventListener('click', () => void loadResults(false));
for (const th of ui.resultsTable.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
  th.querySelector('button')?.addEventListener('click', () => {
    const key = th.dataset['sort'] as SortKey;
    sort = { key, descending: sort.key === key ? !sort.descending : key !== 'candidate_name' && key !== 'status' };
    renderResults();
  });
}

async function loadResults(fromStart: boolean): Promise<void> {
  if (api === undefined || current === undefined) return;
  const testId = current.test_id;
  try {
    const page = await api.results(testId, fromStart ? null : nextCursor);
    if (openTestId() !== testId) return;
    results = fromStart ? page.results : [...results, ...page.results];
    nextCursor = page.next_cursor;
    pagesRead = fromStart ? 1 : pagesRead + 1;
    setProblem(undefined);
  } catch (err) {
    setProblem(`The results could not be read: ${failure(err)}`);
    return;
  }
  renderResults();
}

/** How often an open test's results are read again by themselves, ms. */
const RESULTS_REFRESH_MS = 10_000;

/**
 * Reads the first page of results again while a test is open and the tab is visible, so that new
 * and finished assessments appear without a click. It waits while the recruiter has read further
 * pages (a refresh would drop them) or has focus in the table (re-rendering would move it), and a
 * polite announcement says how many results are new.
 */
setInterval(() => {
  if (ui.screens.test.hidden || document.hidden || pagesRead > 1) return;
  if (ui.resultsRows.contains(document.activeElement)) return;
  const before = results.length;
  void loadResults(true).then(() => {
    const added = results.length - before;
    if (added > 0) announce(`${added} new result${added === 1 ? '' : 's'}.`);
  });
}, RESULTS_REFRESH_MS);

function passesFilter(r: ResultRow, filter: string): boolean {
  if (filter === 'all') return true;
  if (filter === 'finished') return isFinal(r.status);
  if (filter === 'open') return isOpen(r.status);
  return r.status === filter;
}

function sortValue(r: ResultRow, key: SortKey): string | number {
  switch (key) {
    case 'candidate_name':
      return r.candidate_name.toLowerCase();
    case 'status':
      return STATUS_TEXT[r.status];
    case 'started_at':
      return r.started_at;
    case 'answered':
      return r.answered;
    case 'score':
      return r.score ?? -Infinity;
    case 'theta':
      return r.result?.theta ?? -Infinity;
    case 'incidents':
      return r.incidents;
  }
}

function renderResults(): void {
  const filter = ui.resultsFilter.value;
  const shown = results.filter((r) => passesFilter(r, filter));
  shown.sort((a, b) => {
    const x = sortValue(a, sort.key);
    const y = sortValue(b, sort.key);
    const order = x < y ? -1 : x > y ? 1 : a.assessment_id.localeCompare(b.assessment_id);
    return sort.descending ? -order : order;
  });
  for (const th of ui.resultsTable.querySelectorAll<HTMLTableCellElement>('th[data-sort]')) {
    if (th.dataset['sort'] === sort.key) th.setAttribute('aria-sort', sort.descending ? 'descending' : 'ascending');
    else th.removeAttribute('aria-sort');
  }
  ui.resultsRows.replaceChildren(...shown.map(resultRow));
  ui.resultsMore.hidden = nextCursor === null;
  ui.resultsSummary.textContent =
    results.length === 0
      ? 'No candidate has started this test yet.'
      : `Showing ${shown.length} of ${results.length} read${nextCursor === null ? '' : ' (more to load)'}.`;
}

function resultRow(r: ResultRow): HTMLTableRowElement {
  const tr = document.createElement('tr');
  tr.dataset['assessmentId'] = r.assessment_id;
  const th = document.createElement('th');
  th.scope = 'row';
  th.textContent = r.candidate_name === '' ? r.candidate_id : r.candidate_name;
  const status = cell(STATUS_TEXT[r.status]);
  status.className = 'status';
  status.dataset['status'] = r.status;
  const theta = r.result?.theta;
  const se = r.result?.se;
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'secondary small';
  button.textContent = 'Report';
  button.setAttribute('aria-label', `Report, ${th.textContent}`);
  button.addEventListener('click', () => void openReport(r.assessment_id));
  const action = document.createElement('td');
  action.append(button);
  tr.append(
    th,
    status,
    cell(dateTime(r.started_at)),
    numCell(String(r.answered)),
    numCell(`${number(r.score, 1)}${r.result?.decision === undefined ? '' : ` (${DECISION_TEXT[r.result.decision]})`}`),
    numCell(theta === undefined ? '—' : `${theta.toFixed(2)} ± ${number(se, 2)}`),
    numCell(String(r.incidents)),
    action,
  );
  return tr;
}

ui.resultsCsv.addEventListener('click', () => void downloadCsv());

async function downloadCsv(): Promise<void> {
  if (api === undefined || current === undefined) return;
  const done = busyButton(ui.resultsCsv, 'Preparing…');
  try {
    const rows = await api.allResults(current.test_id);
    const blob = new Blob([resultsCsv(rows)], { type: 'text/csv;charset=utf-8' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `results-${current.test_id}.csv`;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    announce(`${rows.length} results downloaded.`);
  } catch (err) {
    setProblem(`The results could not be exported: ${failure(err)}`);
  } finally {
    done();
  }
}

// ---- one candidate's report

async function openReport(assessmentId: string): Promise<void> {
  if (api === undefined || current === undefined) return;
  let report: AssessmentReport;
  try {
    report = await api.report(current.test_id, assessmentId);
  } catch (err) {
    setProblem(`The report could not be read: ${failure(err)}`);
    return;
  }
  renderReport(report);
  ui.report.hidden = false;
  ui.reportTitle.focus();
}

function fact(term: string, value: string): HTMLElement[] {
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = value;
  return [dt, dd];
}

function renderReport(report: AssessmentReport): void {
  const name = report.candidate_name === '' ? report.candidate_id : report.candidate_name;
  ui.reportTitle.textContent = `Report: ${name}`;
  const r = report.result;
  ui.reportFacts.replaceChildren(
    ...fact(
      'Status',
      `${STATUS_TEXT[report.status]}${report.reason === null ? '' : ` (${REASON_TEXT[report.reason] ?? report.reason.replace(/_/g, ' ')})`}`,
    ),
    ...fact('Started', dateTime(report.started_at)),
    ...fact('Finished', dateTime(report.finished_at)),
    ...fact('Score', number(report.score, 1)),
    ...(r?.decision === undefined ? [] : fact('Decision', DECISION_TEXT[r.decision])),
    ...(r === null ? [] : fact('Correct', `${r.number_correct} of ${r.answered} (${number(r.percent_correct, 0)}%)`)),
    ...(r?.theta === undefined ? [] : fact('Ability (θ ± SE)', `${r.theta.toFixed(2)} ± ${number(r.se, 2)}`)),
    ...(r?.percentile === undefined ? [] : fact('Percentile', number(r.percentile, 0))),
  );
  const skills = r?.skills ?? [];
  ui.reportSkills.hidden = skills.length === 0;
  ui.reportSkills.querySelector('svg')?.remove();
  if (skills.length > 0) {
    const byTheta = skills.every((s) => s.theta !== undefined);
    const bars = skills.map((s) => ({
      label: s.skill,
      value: byTheta ? (s.theta ?? 0) : s.answered === 0 ? 0 : (100 * s.correct) / s.answered,
      detail: byTheta ? `θ ${number(s.theta, 2)} (${s.correct}/${s.answered})` : `${s.correct} of ${s.answered} correct`,
    }));
    const scale = byTheta ? { min: -3, max: 3, name: 'θ' } : { min: 0, max: 100, name: 'percent correct' };
    ui.reportSkills.prepend(barChart(document, bars, scale, 'report-skills'));
  }
  const trace = r?.trace ?? [];
  ui.reportTrace.hidden = !report.adaptive || trace.length === 0;
  ui.reportTrace.querySelector('svg')?.remove();
  if (report.adaptive && trace.length > 0) ui.reportTrace.prepend(thetaChart(document, trace, 'report-trace'));
  ui.reportTimeline.replaceChildren(
    ...(report.timeline.length === 0
      ? [Object.assign(document.createElement('li'), { textContent: 'No incidents and no staff actions.' })]
      : report.timeline.map((e) => {
          const li = document.createElement('li');
          const time = document.createElement('time');
          time.dateTime = e.at;
          time.textContent = dateTime(e.at);
          li.append(time, ` ${e.kind.replace(/_/g, ' ')}${e.detail === '' ? '' : `: ${e.detail}`}`);
          return li;
        })),
  );
  ui.reportAnswers.replaceChildren(
    ...report.answers.map((a) => {
      const tr = document.createElement('tr');
      // A Likert or partial-credit answer has a category, not a right or wrong.
      const correct =
        a.category === undefined ? cell(a.correct ? '✓ Correct' : '✗ Wrong') : cell(`Category ${a.category} (option ${a.category + 1})`);
      if (a.category === undefined) correct.className = a.correct ? 'answer-correct' : 'answer-wrong';
      tr.append(numCell(String(a.index + 1)), cell(a.stem === '' ? a.item_id : a.stem), cell(a.skill), cell(a.selected_option), correct);
      tr.append(numCell(`${a.time_s.toFixed(1)} s`));
      return tr;
    }),
  );
}

// ---- item statistics

const SVG_NS = 'http://www.w3.org/2000/svg';
/** Category colours (Okabe–Ito), with dashes that tell neighbouring categories apart without colour. */
const CATEGORY_COLOURS = ['#0072b2', '#d55e00', '#009e73', '#cc79a7', '#e69f00', '#56b4e9', '#000000', '#f0e442', '#999999', '#882255'];

function svgEl<K extends keyof SVGElementTagNameMap>(
  name: K,
  attrs: Record<string, string | number>,
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * The category response curves of a likert or partial-credit item, θ from −3 to 3: one line per
 * category (P(X = k | θ)), the thresholds marked on the axis; the title names the model and its parameters.
 */
function categoryChart(item: PolyCurve, id: string): SVGSVGElement {
  const w = 160;
  const h = 64;
  const x = (t: number) => 4 + ((t + 3) / 6) * (w - 8);
  const y = (v: number) => h - 4 - v * (h - 8);
  const svg = svgEl('svg', {
    viewBox: `0 0 ${w} ${h}`,
    role: 'img',
    'aria-labelledby': `${id}-title`,
    class: 'chart chart-icc chart-crc',
    focusable: 'false',
  });
  const kind = item.model === 'GRM' ? 'graded response model' : 'generalized partial credit model';
  const title = `Category response curves (${kind}) of ${item.thresholds.length + 1} categories: discrimination ${item.a.toFixed(2)}, thresholds ${item.thresholds.map((b) => b.toFixed(2)).join(', ')}`;
  svg.append(svgEl('title', { id: `${id}-title` }, title));
  svg.append(svgEl('line', { x1: 4, x2: w - 4, y1: y(0), y2: y(0), class: 'chart-axis' }));
  svg.append(svgEl('line', { x1: 4, x2: w - 4, y1: y(1), y2: y(1), class: 'chart-grid' }));
  for (const b of item.thresholds) {
    if (b < -3 || b > 3) continue;
    svg.append(svgEl('line', { x1: x(b), x2: x(b), y1: y(0), y2: y(0) + 3, class: 'chart-threshold', stroke: '#555', 'stroke-width': 1 }));
  }
  categoryCurves(item).forEach((points, k) => {
    const line = svgEl('polyline', {
      points: points.map((p) => `${x(p.theta).toFixed(1)},${y(p.p).toFixed(1)}`).join(' '),
      class: 'chart-category',
      'data-category': k,
      fill: 'none',
      stroke: CATEGORY_COLOURS[k % CATEGORY_COLOURS.length] ?? '#000',
      'stroke-width': 2,
      ...(k % 2 === 1 ? { 'stroke-dasharray': '4 2' } : {}),
    });
    line.append(svgEl('title', {}, `Category ${k} (option ${k + 1})`));
    svg.append(line);
  });
  return svg;
}

async function loadItemStats(): Promise<void> {
  if (api === undefined || current === undefined) return;
  const testId = current.test_id;
  try {
    const stats = await api.itemStats(testId);
    if (openTestId() !== testId) return;
    ui.itemsSummary.textContent = `From ${stats.examinees} finished assessment${stats.examinees === 1 ? '' : 's'}.`;
    ui.itemsRows.replaceChildren(
      ...stats.items.map((item, i) => {
        const tr = document.createElement('tr');
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = item.stem === '' ? item.item_id : item.stem;
        const curve = document.createElement('td');
        if (item.irt === null) curve.textContent = '—';
        else if ('model' in item.irt) curve.append(categoryChart(item.irt, `crc-${i}`));
        else curve.append(iccChart(document, item.irt, `icc-${i}`));
        tr.append(
          th,
          cell(item.skill),
          numCell(String(item.administered)),
          numCell(`${Math.round(item.exposure * 100)}%`),
          numCell(
            item.mean_category !== undefined
              ? item.mean_category === null
                ? '—'
                : `mean category ${item.mean_category.toFixed(2)}`
              : item.proportion_correct === null
                ? '—'
                : `${Math.round(item.proportion_correct * 100)}%`,
          ),
          numCell(item.mean_time_s === null ? '—' : `${item.mean_time_s.toFixed(1)} s`),
          curve,
        );
        return tr;
      }),
    );
  } catch (err) {
    ui.itemsSummary.textContent = `The item statistics could not be read: ${failure(err)}`;
  }
}

function boot(): void {
  const launched = takeLaunchSignIn();
  if (launched !== undefined)
    adoptSignIn({ token: launched.token, user_id: launched.user_id, email: launched.name, expires_at: launched.expires_at });
  const session = storedSignIn();
  if (session === undefined) showSignIn();
  else begin(session);
}

boot();
