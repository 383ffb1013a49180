/**
 * The proctor dashboard: sign in, then a live table of the in-progress assessments of the
 * proctor's tests (candidate, connection, progress, time left, ability estimate, incidents) with
 * per-row actions: message the candidate, pause or resume, extra time, terminate. Every text from
 * the server is set with `textContent`; the page needs no inline script or style (strict CSP).
 */
import { HttpApiError, login } from '@ap/client';
import type { AssessmentStatus, ChatMessage, LiveAssessment, StartApproval } from '@ap/protocol';
import { ServerClock, formatClock, formatDuration, plural } from './clock.ts';
import { appendChatMessage, busyButton, byId, loadStored, renderConnectionState, saveStored, setFieldError, shortTime } from './dom.ts';
import type { ConnectionState } from './link.ts';
import { CommandError, ProctorSession } from './proctor-session.ts';
import type { AssessmentStatusReply } from './proctor-session.ts';
import { estimate } from './text.ts';

const STORAGE_KEY = 'proctor.sign-in';
/** How long a finished assessment stays in the table (marked finished) before it goes. */
const FINISHED_LINGER_MS = 8000;
/** How long "… is typing" stays after the last typing notice. */
const TYPING_SHOWN_MS = 4000;

const FINAL: ReadonlySet<AssessmentStatus> = new Set(['completed', 'expired', 'abandoned', 'terminated']);

const STATUS_TEXT: Readonly<Record<AssessmentStatus, string>> = {
  created: 'Not started',
  in_progress: 'In progress',
  paused: 'Paused',
  overdue: 'Time up (grace period)',
  completed: 'Finished',
  expired: 'Time ran out',
  abandoned: 'Abandoned',
  terminated: 'Terminated',
};

const INCIDENT_TEXT: Readonly<Record<string, string>> = {
  focus_lost: 'left the window',
  tab_hidden: 'switched tab',
  paste: 'pasted text',
  fullscreen_exit: 'left full screen',
  copy: 'copied text',
  other: 'other',
};

const ui = {
  signedInAs: byId('signed-in-as', HTMLParagraphElement),
  connection: byId('connection', HTMLParagraphElement),
  connectionText: byId('connection-text', HTMLSpanElement),
  signOut: byId('sign-out', HTMLButtonElement),
  problem: byId('problem', HTMLParagraphElement),
  announcer: byId('announcer', HTMLParagraphElement),
  screens: {
    signin: byId('screen-signin', HTMLElement),
    dashboard: byId('screen-dashboard', HTMLElement),
  },
  signinTitle: byId('signin-title', HTMLHeadingElement),
  signinForm: byId('signin-form', HTMLFormElement),
  email: byId('email', HTMLInputElement),
  password: byId('password', HTMLInputElement),
  signinError: byId('signin-error', HTMLParagraphElement),
  signinButton: byId('signin-button', HTMLButtonElement),
  dashboardTitle: byId('dashboard-title', HTMLHeadingElement),
  summary: byId('summary', HTMLParagraphElement),
  table: byId('live-table', HTMLTableElement),
  rows: byId('live-rows', HTMLTableSectionElement),
  empty: byId('empty', HTMLParagraphElement),
  waiting: byId('waiting', HTMLElement),
  waitingList: byId('waiting-list', HTMLUListElement),
  conversation: byId('conversation', HTMLElement),
  conversationTitle: byId('conversation-title', HTMLHeadingElement),
  conversationLog: byId('conversation-log', HTMLOListElement),
  conversationTyping: byId('conversation-typing', HTMLParagraphElement),
  conversationForm: byId('conversation-form', HTMLFormElement),
  conversationInput: byId('conversation-input', HTMLTextAreaElement),
  conversationError: byId('conversation-error', HTMLParagraphElement),
  conversationSend: byId('conversation-send', HTMLButtonElement),
  conversationClose: byId('conversation-close', HTMLButtonElement),
  pauseDialog: byId('pause-dialog', HTMLDialogElement),
  pauseForm: byId('pause-form', HTMLFormElement),
  pauseTitle: byId('pause-title', HTMLHeadingElement),
  pauseReason: byId('pause-reason', HTMLTextAreaElement),
  pauseError: byId('pause-error', HTMLParagraphElement),
  extraDialog: byId('extra-dialog', HTMLDialogElement),
  extraForm: byId('extra-form', HTMLFormElement),
  extraTitle: byId('extra-title', HTMLHeadingElement),
  extraMinutes: byId('extra-minutes', HTMLInputElement),
  extraReason: byId('extra-reason', HTMLTextAreaElement),
  extraError: byId('extra-error', HTMLParagraphElement),
  terminateDialog: byId('terminate-dialog', HTMLDialogElement),
  terminateForm: byId('terminate-form', HTMLFormElement),
  terminateTitle: byId('terminate-title', HTMLHeadingElement),
  terminateReason: byId('terminate-reason', HTMLTextAreaElement),
  terminateError: byId('terminate-error', HTMLParagraphElement),
};

type ScreenName = keyof typeof ui.screens;
type SignIn = { token: string; user_id: string; email: string; expires_at: string };

/** One assessment in the table: the last state the server gave, its clock, and its elements. */
type Row = {
  data: LiveAssessment;
  /** When the page last heard of it (`Date.now()`), to tell a stale list from a new row. */
  heardAt: number;
  clock: ServerClock;
  tr: HTMLTableRowElement;
  status: HTMLTableCellElement;
  online: HTMLTableCellElement;
  bar: HTMLProgressElement;
  progressText: HTMLSpanElement;
  time: HTMLTableCellElement;
  ability: HTMLTableCellElement;
  incidents: HTMLTableCellElement;
  message: HTMLButtonElement;
  pause: HTMLButtonElement;
  extra: HTMLButtonElement;
  terminate: HTMLButtonElement;
  unread: number;
  removeTimer: ReturnType<typeof setTimeout> | undefined;
};

let session: ProctorSession | undefined;
let signedIn: SignIn | undefined;
let connection: ConnectionState = { status: 'closed', reason: 'not signed in' };
let listed = false;
const rows = new Map<string, Row>();
/** Messages by assessment, oldest first (kept after a row leaves, while its conversation is open). */
const messages = new Map<string, ChatMessage[]>();
/** Names by assessment, for a conversation whose row has gone. */
const names = new Map<string, string>();
let conversationId: string | undefined;
let typingTimer: ReturnType<typeof setTimeout> | undefined;

// ---- screens, focus and announcements

function show(name: ScreenName, focus?: HTMLElement): void {
  for (const [key, node] of Object.entries(ui.screens)) node.hidden = key !== name;
  if (focus !== undefined) focus.focus();
}

let announcements: string[] = [];
let announceTimer: ReturnType<typeof setTimeout> | undefined;

/** Says what changed through the live region, a few changes at a time. */
function announce(text: string): void {
  announcements.push(text);
  announceTimer ??= setTimeout(() => {
    ui.announcer.textContent = announcements.join(' ');
    announcements = [];
    announceTimer = undefined;
  }, 150);
}

function setProblem(message: string | undefined): void {
  ui.problem.hidden = message === undefined;
  ui.problem.textContent = message ?? '';
}

// ---- sign-in

function readSignIn(): SignIn | undefined {
  const value = loadStored(STORAGE_KEY) as Partial<SignIn> | null | undefined;
  if (typeof value?.token !== 'string' || typeof value.user_id !== 'string' || typeof value.expires_at !== 'string') return undefined;
  if (Date.parse(value.expires_at) <= Date.now()) return undefined;
  return {
    token: value.token,
    user_id: value.user_id,
    email: typeof value.email === 'string' ? value.email : '',
    expires_at: value.expires_at,
  };
}

function showSignIn(message?: string): void {
  ui.signedInAs.hidden = true;
  ui.signOut.hidden = true;
  ui.conversation.hidden = true;
  setSignInError(message);
  ui.signinButton.disabled = false;
  ui.signinButton.textContent = 'Sign in';
  show('signin', ui.email.value === '' ? ui.email : ui.password);
}

function setSignInError(message: string | undefined): void {
  setFieldError(ui.email, ui.signinError, message);
  setFieldError(ui.password, ui.signinError, message);
}

ui.signinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const email = ui.email.value.trim();
  const password = ui.password.value;
  if (email === '' || password === '') {
    setSignInError('Enter your email and your password.');
    (email === '' ? ui.email : ui.password).focus();
    return;
  }
  setSignInError(undefined);
  const done = busyButton(ui.signinButton, 'Signing in…');
  login(location.origin, email, password).then(
    (result) => {
      done();
      if (result.role === 'candidate') {
        setSignInError('This page is for proctors. Candidates take their assessment on the start page.');
        ui.email.focus();
        return;
      }
      ui.password.value = '';
      const signIn: SignIn = { token: result.token, user_id: result.user_id, email, expires_at: result.expires_at };
      saveStored(STORAGE_KEY, signIn);
      begin(signIn);
    },
    (err: unknown) => {
      done();
      setSignInError(signInError(err));
      ui.password.focus();
    },
  );
});

function signInError(err: unknown): string {
  if (err instanceof HttpApiError) {
    if (err.code === 'AUTH_INVALID' || err.code === 'NOT_FOUND' || err.status === 401) return 'The email or the password is not right.';
    if (err.code === 'VALIDATION_FAILED') return 'Enter a valid email address and your password.';
    if (err.code === 'RATE_LIMITED') return 'Too many attempts. Wait a minute and try again.';
    return `Signing in failed: ${err.message}`;
  }
  return 'The server cannot be reached. Check your connection and try again.';
}

ui.signOut.addEventListener('click', () => {
  saveStored(STORAGE_KEY, undefined);
  end('signed out');
  showSignIn();
});

// ---- the session

function begin(signIn: SignIn): void {
  end('signed in again');
  signedIn = signIn;
  ui.signedInAs.textContent = `Signed in as ${signIn.email === '' ? 'proctor' : signIn.email}`;
  ui.signedInAs.hidden = false;
  ui.signOut.hidden = false;
  listed = false;
  ui.summary.textContent = 'Loading the assessments…';
  renderEmpty();
  show('dashboard', ui.dashboardTitle);
  const url = `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/ws/chat`;
  session = new ProctorSession({
    url,
    token: signIn.token,
    listener: {
      connection(state) {
        connection = state;
        renderConnection();
        if (state.status === 'open') setProblem(undefined);
      },
      snapshot(list, askedAt) {
        applySnapshot(list, askedAt);
      },
      startRequests(list) {
        waiting.clear();
        for (const r of list) waiting.set(requestKey(r), r);
        renderWaiting();
      },
      startRequest(request) {
        onStartRequest(request);
      },
      update(assessment) {
        upsert(assessment, true);
        renderSummary();
      },
      chat(assessmentId, message, live) {
        onChat(assessmentId, message, live);
      },
      typing(assessmentId) {
        onTyping(assessmentId);
      },
      signedOut(message) {
        saveStored(STORAGE_KEY, undefined);
        end('signed out');
        showSignIn(message);
      },
    },
  });
  session.open();
}

/** Stops the session and empties the table. */
function end(reason: string): void {
  session?.stop(reason);
  session = undefined;
  signedIn = undefined;
  for (const row of rows.values()) clearTimeout(row.removeTimer);
  rows.clear();
  messages.clear();
  names.clear();
  ui.rows.replaceChildren();
  waiting.clear();
  renderWaiting();
  closeConversation(false);
}

function renderConnection(): void {
  renderConnectionState(ui.connection, ui.connectionText, connection, 'Disconnected');
}

// ---- candidates waiting for approval to start

/** Waiting start requests by `<candidate>:<test>`. */
const waiting = new Map<string, StartApproval>();

function requestKey(r: StartApproval): string {
  return `${r.candidate_id}:${r.test_id}`;
}

function onStartRequest(r: StartApproval): void {
  const name = r.candidate_name.trim() !== '' ? r.candidate_name : `Candidate ${r.candidate_id.slice(0, 8)}`;
  const known = waiting.has(requestKey(r));
  if (r.status === 'waiting') {
    waiting.set(requestKey(r), r);
    if (!known) announce(`${name} is waiting for approval to start.`);
  } else {
    waiting.delete(requestKey(r));
    if (known) announce(`${name} may start now.`);
  }
  renderWaiting();
}

function renderWaiting(): void {
  const list = [...waiting.values()].sort((x, y) => x.requested_at.localeCompare(y.requested_at));
  ui.waiting.hidden = list.length === 0;
  ui.waitingList.replaceChildren(
    ...list.map((r) => {
      const name = r.candidate_name.trim() !== '' ? r.candidate_name : `Candidate ${r.candidate_id.slice(0, 8)}`;
      const li = document.createElement('li');
      li.dataset['candidateId'] = r.candidate_id;
      const text = document.createElement('span');
      text.textContent = `${name}, ${r.test_id}, waiting since ${new Date(r.requested_at).toLocaleTimeString()}`;
      const approve = actionButton('approve');
      approve.textContent = 'Approve';
      approve.setAttribute('aria-label', `Approve, ${name}`);
      approve.addEventListener('click', () => {
        approve.disabled = true;
        need()
          .approveStart(r.candidate_id, r.test_id)
          .catch((err: unknown) => {
            approve.disabled = false;
            setProblem(`Not approved: ${err instanceof Error ? err.message : String(err)}`);
          });
      });
      li.append(text, ' ', approve);
      return li;
    }),
  );
}

// ---- the table

function nameOf(a: LiveAssessment): string {
  return a.candidate_name.trim() !== '' ? a.candidate_name : `Candidate ${a.candidate_id.slice(0, 8)}`;
}

function applySnapshot(list: LiveAssessment[], askedAt: number): void {
  const first = !listed;
  listed = true;
  const ids = new Set(list.map((a) => a.assessment_id));
  for (const a of list) upsert(a, !first);
  for (const row of [...rows.values()]) {
    // Gone from the list since it was asked for: it ended while a frame was missed.
    if (!ids.has(row.data.assessment_id) && !FINAL.has(row.data.status) && row.heardAt < askedAt) {
      announce(`${nameOf(row.data)} is no longer in progress.`);
      removeRow(row);
    }
  }
  if (first) announce(`${plural(rows.size, 'assessment')} in progress.`);
  renderSummary();
}

/** Adds or updates a row from the server's view of an assessment. */
function upsert(a: LiveAssessment, tell: boolean): void {
  const row = rows.get(a.assessment_id);
  if (row === undefined) {
    if (FINAL.has(a.status)) return;
    const created = createRow(a);
    rows.set(a.assessment_id, created);
    names.set(a.assessment_id, nameOf(a));
    const later = [...rows.values()].find((r) => r !== created && r.data.started_at > a.started_at);
    ui.rows.insertBefore(created.tr, later?.tr ?? null);
    session?.follow(a.assessment_id);
    renderRow(created);
    renderEmpty();
    if (tell) announce(`${nameOf(a)} started an assessment.`);
    return;
  }
  // An older view than the one shown (a list read before the latest change) changes nothing.
  if (a.updated_at < row.data.updated_at) return;
  const before = row.data;
  row.data = a;
  row.heardAt = Date.now();
  row.clock.sync(a.time_remaining_s, a.status === 'in_progress');
  names.set(a.assessment_id, nameOf(a));
  renderRow(row);
  if (!tell) return;
  const name = nameOf(a);
  if (before.status !== a.status) announce(`${name}: ${STATUS_TEXT[a.status].toLowerCase()}.`);
  else if (before.online !== a.online) announce(`${name} is ${a.online ? 'back online' : 'offline'}.`);
  if (a.incidents > before.incidents) announce(`${name}: incident, ${incidentText(a)}.`);
}

function createRow(a: LiveAssessment): Row {
  const tr = document.createElement('tr');
  tr.dataset['assessmentId'] = a.assessment_id;
  const th = document.createElement('th');
  th.scope = 'row';
  const name = document.createElement('span');
  name.className = 'candidate-name';
  name.textContent = nameOf(a);
  const detail = document.createElement('span');
  detail.className = 'candidate-detail';
  const at = shortTime(a.started_at);
  detail.textContent = `${a.test_title === '' ? a.test_id : a.test_title}${at === '' ? '' : `, started ${at}`}`;
  th.append(name, detail);
  const accommodations = accommodationText(a);
  if (accommodations !== '') {
    const extraTime = document.createElement('span');
    extraTime.className = 'candidate-accommodations';
    extraTime.textContent = accommodations;
    th.append(extraTime);
  }
  const status = td('status');
  const online = td('online');
  const progress = td('progress-cell');
  const bar = document.createElement('progress');
  // The text beside it says the same.
  bar.setAttribute('aria-hidden', 'true');
  const progressText = document.createElement('span');
  progressText.className = 'progress-text';
  progress.append(bar, progressText);
  const time = td('time');
  const ability = td('ability');
  const incidents = td('incidents');
  const actions = td('actions');
  const box = document.createElement('div');
  box.className = 'button-row';
  const message = actionButton();
  const pause = actionButton();
  const extra = actionButton();
  const terminate = actionButton('danger');
  box.append(message, pause, extra, terminate);
  actions.append(box);
  tr.append(th, status, online, progress, time, ability, incidents, actions);
  const row: Row = {
    data: a,
    heardAt: Date.now(),
    clock: new ServerClock(),
    tr,
    status,
    online,
    bar,
    progressText,
    time,
    ability,
    incidents,
    message,
    pause,
    extra,
    terminate,
    unread: 0,
    removeTimer: undefined,
  };
  row.clock.sync(a.time_remaining_s, a.status === 'in_progress');
  message.addEventListener('click', () => openConversation(a.assessment_id, message));
  pause.addEventListener('click', () => {
    if (row.data.status === 'paused') resume(row);
    else openPause(row, pause);
  });
  extra.addEventListener('click', () => openExtra(row, extra));
  terminate.addEventListener('click', () => openTerminate(row, terminate));
  return row;
}

/** The candidate's standing time accommodations as a proctor reads them ("Accommodations: time × 1.5, +60 s"), or ''. */
function accommodationText(a: LiveAssessment): string {
  const acc = a.accommodations;
  if (acc === undefined) return '';
  const parts: string[] = [];
  if (acc.time_multiplier !== 1) parts.push(`time × ${String(acc.time_multiplier)}`);
  if (acc.extra_seconds > 0) parts.push(`+${String(acc.extra_seconds)} s`);
  return parts.length === 0 ? '' : `Accommodations: ${parts.join(', ')}`;
}

function td(className: string): HTMLTableCellElement {
  const cell = document.createElement('td');
  cell.className = className;
  return cell;
}

function actionButton(className?: string): HTMLButtonElement {
  const button = document.createElement('button');
  button.type = 'button';
  button.className = `small${className === undefined ? '' : ` ${className}`}`;
  return button;
}

/**
 * A row's button says its action; its accessible name adds whose row it is ("Pause, Ada
 * Lovelace"), starting with the visible words so that speech input finds it.
 */
function label(button: HTMLButtonElement, words: string, a: LiveAssessment): void {
  if (button.textContent !== words) button.textContent = words;
  button.setAttribute('aria-label', `${words}, ${nameOf(a)}`);
}

function renderRow(row: Row): void {
  const a = row.data;
  const final = FINAL.has(a.status);
  row.tr.dataset['status'] = a.status;
  row.status.dataset['status'] = a.status;
  row.status.textContent = STATUS_TEXT[a.status];
  row.online.dataset['online'] = String(a.online);
  row.online.textContent = final ? '—' : a.online ? 'Online' : 'Offline';
  const planned = Math.max(a.planned, a.answered, 1);
  row.bar.max = planned;
  row.bar.value = a.answered;
  row.progressText.textContent = `${a.answered} of ${planned}`;
  row.ability.textContent =
    a.strategy !== 'adaptive' ? 'not adaptive' : a.theta === undefined ? 'no estimate yet' : estimate(a.theta, a.se);
  row.incidents.dataset['count'] = String(a.incidents);
  row.incidents.textContent = a.incidents === 0 ? 'None' : `${a.incidents}, last: ${incidentText(a)}`;
  renderTime(row);
  label(row.pause, a.status === 'paused' ? 'Resume' : 'Pause', a);
  label(row.extra, 'Extra time', a);
  label(row.terminate, 'Terminate', a);
  const focusInside = row.tr.contains(document.activeElement);
  row.pause.disabled = a.status !== 'in_progress' && a.status !== 'paused';
  row.extra.disabled = final;
  row.terminate.disabled = final;
  renderUnread(row);
  if (final) {
    row.tr.classList.add('finished');
    if (focusInside && document.activeElement instanceof HTMLButtonElement && document.activeElement.disabled) row.message.focus();
    if (row.removeTimer === undefined) row.removeTimer = setTimeout(() => removeRow(row), FINISHED_LINGER_MS);
  }
}

function incidentText(a: LiveAssessment): string {
  const last = a.last_incident;
  if (last === undefined) return 'unknown';
  const at = shortTime(last.at);
  return `${INCIDENT_TEXT[last.kind] ?? last.kind}${at === '' ? '' : ` at ${at}`}`;
}

/** The countdown of a row: the server's value, interpolated only while the assessment runs. */
function renderTime(row: Row): void {
  const a = row.data;
  const left = row.clock.secondsLeft() ?? a.time_remaining_s;
  let text: string;
  if (FINAL.has(a.status)) text = '—';
  else if (a.status === 'paused') text = `${formatClock(left)} (paused)`;
  else if (a.status === 'overdue') text = '0:00 (grace period)';
  else if (left === 0) text = '0:00 (time is up)';
  else text = left < 60 ? `${formatClock(left)} (under a minute)` : formatClock(left);
  if (row.time.textContent !== text) row.time.textContent = text;
  row.time.dataset['low'] = String(!FINAL.has(a.status) && left < 60);
}

function renderUnread(row: Row): void {
  label(row.message, row.unread > 0 ? `Message (${row.unread} new)` : 'Message', row.data);
  row.message.dataset['unread'] = String(row.unread);
}

function removeRow(row: Row): void {
  const id = row.data.assessment_id;
  clearTimeout(row.removeTimer);
  if (row.tr.contains(document.activeElement)) ui.dashboardTitle.focus();
  row.tr.remove();
  rows.delete(id);
  if (conversationId !== id) {
    session?.unfollow(id);
    messages.delete(id);
  }
  renderEmpty();
  renderSummary();
}

function renderEmpty(): void {
  ui.empty.hidden = rows.size > 0 || !listed;
  ui.table.hidden = rows.size === 0;
}

function renderSummary(): void {
  if (!listed) return;
  const live = [...rows.values()].map((r) => r.data).filter((a) => !FINAL.has(a.status));
  const count = (pred: (a: LiveAssessment) => boolean) => live.filter(pred).length;
  if (live.length === 0) {
    ui.summary.textContent = 'No assessment is in progress.';
    return;
  }
  const parts = [`${count((a) => a.online)} online`, `${count((a) => !a.online)} offline`];
  const paused = count((a) => a.status === 'paused');
  if (paused > 0) parts.push(`${paused} paused`);
  const withIncidents = count((a) => a.incidents > 0);
  if (withIncidents > 0) parts.push(`${withIncidents} with incidents`);
  ui.summary.textContent = `${plural(live.length, 'assessment')}: ${parts.join(', ')}.`;
}

/** What a command's reply says about the assessment, shown at once (the live frame follows). */
function applyStatus(row: Row, reply: AssessmentStatusReply): void {
  row.data = { ...row.data, status: reply.status, deadline: reply.deadline, time_remaining_s: Math.max(0, reply.time_remaining_s) };
  row.clock.sync(row.data.time_remaining_s, reply.status === 'in_progress');
  renderRow(row);
  renderSummary();
}

// ---- commands

/** A command dialog: its form, the field errors go to, and what submitting does (returns what to announce). */
function commandDialog(
  dialog: HTMLDialogElement,
  form: HTMLFormElement,
  field: HTMLInputElement | HTMLTextAreaElement,
  error: HTMLParagraphElement,
  run: (row: Row) => Promise<string>,
): (row: Row, opener: HTMLElement) => void {
  let current: Row | undefined;
  let opener: HTMLElement | undefined;
  let busy = false;
  const submit = form.querySelector<HTMLButtonElement>('button[type="submit"]');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const row = current;
    if (row === undefined || busy) return;
    setFieldError(field, error, undefined);
    busy = true;
    if (submit !== null) submit.disabled = true;
    run(row).then(
      (said) => {
        busy = false;
        if (submit !== null) submit.disabled = false;
        dialog.close();
        announce(said);
      },
      (err: unknown) => {
        busy = false;
        if (submit !== null) submit.disabled = false;
        setFieldError(field, error, err instanceof Error ? err.message : 'That did not work.');
        field.focus();
      },
    );
  });
  for (const cancel of form.querySelectorAll<HTMLButtonElement>('[data-cancel]')) cancel.addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', () => {
    // The close event is queued: when the dialog was opened again before it ran (a quick
    // Escape then Enter), it belongs to the earlier opening and must not clear the new one.
    if (dialog.open) return;
    current = undefined;
    // Back to the button that opened it, unless that is gone or disabled (the assessment ended).
    if (opener?.isConnected === true && !(opener instanceof HTMLButtonElement && opener.disabled)) opener.focus();
    else ui.dashboardTitle.focus();
    opener = undefined;
  });
  return (row, from) => {
    current = row;
    opener = from;
    setFieldError(field, error, undefined);
    form.reset();
    dialog.showModal();
    field.focus();
  };
}

function need(): ProctorSession {
  if (session === undefined) throw new Error('Not signed in.');
  return session;
}

/** Failures after which the same request may be made again (OFFLINE: the page was reconnecting). */
const TRANSIENT = new Set(['TIMEOUT', 'SERVICE_UNAVAILABLE', 'CONFLICT', 'RATE_LIMITED', 'OFFLINE']);

function codeOf(err: unknown): string {
  return err instanceof CommandError ? err.code : '';
}

/**
 * Pause, resume and terminate are changes of state that the server refuses to make twice
 * (ASSESSMENT_NOT_ACTIVE), so after a transient failure they are asked for again; they are done
 * as soon as the row (kept current by the live feed) shows the wanted state, and a refusal of a
 * retry then means the first try went through.
 */
async function changeState(
  row: Row,
  wanted: (status: AssessmentStatus) => boolean,
  send: (s: ProctorSession) => Promise<AssessmentStatusReply>,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      applyStatus(row, await send(need()));
      return;
    } catch (err) {
      if (attempt > 1 && codeOf(err) === 'ASSESSMENT_NOT_ACTIVE' && wanted(row.data.status)) return;
      if (!TRANSIENT.has(codeOf(err)) || attempt >= 5) throw err;
    }
    await new Promise((r) => setTimeout(r, 1000 * attempt));
    if (wanted(row.data.status)) return;
  }
}

const pauseDialog = commandDialog(ui.pauseDialog, ui.pauseForm, ui.pauseReason, ui.pauseError, async (row) => {
  const reason = ui.pauseReason.value.trim();
  await changeState(
    row,
    (status) => status === 'paused',
    (s) => s.pause(row.data.assessment_id, reason),
  );
  return `${nameOf(row.data)}: paused.`;
});

function openPause(row: Row, opener: HTMLElement): void {
  ui.pauseTitle.textContent = `Pause the assessment of ${nameOf(row.data)}`;
  pauseDialog(row, opener);
}

function resume(row: Row): void {
  row.pause.disabled = true;
  changeState(
    row,
    (status) => status === 'in_progress',
    (s) => s.resume(row.data.assessment_id),
  ).then(
    () => {
      renderRow(row);
      setProblem(undefined);
      announce(`${nameOf(row.data)}: resumed.`);
    },
    (err: unknown) => {
      renderRow(row);
      setProblem(`Could not resume the assessment of ${nameOf(row.data)}: ${err instanceof Error ? err.message : String(err)}`);
    },
  );
}

const extraDialog = commandDialog(ui.extraDialog, ui.extraForm, ui.extraMinutes, ui.extraError, async (row) => {
  const minutes = Number(ui.extraMinutes.value);
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > 240) throw new Error('Enter a whole number of minutes from 1 to 240.');
  // One key per command: a retry after a lost reply adds nothing the second time.
  const key = crypto.randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      applyStatus(row, await need().extraTime(row.data.assessment_id, minutes * 60, ui.extraReason.value.trim(), key));
      break;
    } catch (err) {
      if (!TRANSIENT.has(codeOf(err)) || attempt >= 5) throw err;
    }
    await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
  return `${nameOf(row.data)}: ${formatDuration(minutes * 60)} added.`;
});

function openExtra(row: Row, opener: HTMLElement): void {
  ui.extraTitle.textContent = `Give ${nameOf(row.data)} extra time`;
  extraDialog(row, opener);
}

const terminateDialog = commandDialog(ui.terminateDialog, ui.terminateForm, ui.terminateReason, ui.terminateError, async (row) => {
  const reason = ui.terminateReason.value.trim();
  if (reason === '') throw new Error('Give a reason: it is kept with the result.');
  await changeState(
    row,
    (status) => FINAL.has(status),
    (s) => s.terminate(row.data.assessment_id, reason),
  );
  return `${nameOf(row.data)}: terminated.`;
});

function openTerminate(row: Row, opener: HTMLElement): void {
  ui.terminateTitle.textContent = `End the assessment of ${nameOf(row.data)}?`;
  terminateDialog(row, opener);
}

// ---- messages

function senderOf(assessmentId: string, message: ChatMessage): { sender: string; note?: string } {
  if (message.sender_role === 'candidate') return { sender: names.get(assessmentId) ?? 'Candidate', note: 'candidate' };
  if (message.sender_role === 'assistant') return { sender: 'Assistant', note: 'automatic reply to the candidate' };
  if (message.sender_id === signedIn?.user_id) return { sender: 'You' };
  return {
    sender: message.sender_role === 'proctor' ? 'Another proctor' : message.sender_role === 'recruiter' ? 'Recruiter' : 'Administrator',
  };
}

function onChat(assessmentId: string, message: ChatMessage, live: boolean): void {
  let list = messages.get(assessmentId);
  if (list === undefined) {
    list = [];
    messages.set(assessmentId, list);
  }
  list.push(message);
  if (conversationId === assessmentId) {
    const who = senderOf(assessmentId, message);
    appendChatMessage(ui.conversationLog, message, who.sender, who.note);
    if (message.sender_role === 'candidate') ui.conversationTyping.textContent = '';
    return;
  }
  if (!live || message.sender_role !== 'candidate') return;
  const row = rows.get(assessmentId);
  if (row === undefined) return;
  row.unread += 1;
  renderUnread(row);
  announce(`New message from ${nameOf(row.data)}.`);
}

function onTyping(assessmentId: string): void {
  if (conversationId !== assessmentId) return;
  ui.conversationTyping.textContent = `${names.get(assessmentId) ?? 'The candidate'} is typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => {
    ui.conversationTyping.textContent = '';
  }, TYPING_SHOWN_MS);
}

let conversationOpener: HTMLElement | undefined;

function openConversation(assessmentId: string, opener: HTMLElement): void {
  if (conversationId !== undefined && conversationId !== assessmentId) closeConversation(false);
  conversationId = assessmentId;
  conversationOpener = opener;
  const name = names.get(assessmentId) ?? 'the candidate';
  ui.conversationTitle.textContent = `Messages with ${name}`;
  ui.conversationLog.replaceChildren();
  for (const message of messages.get(assessmentId) ?? []) {
    const who = senderOf(assessmentId, message);
    appendChatMessage(ui.conversationLog, message, who.sender, who.note);
  }
  ui.conversationTyping.textContent = '';
  setFieldError(ui.conversationInput, ui.conversationError, undefined);
  const row = rows.get(assessmentId);
  if (row !== undefined) {
    row.unread = 0;
    renderUnread(row);
  }
  ui.conversation.hidden = false;
  ui.conversationInput.focus();
}

function closeConversation(restoreFocus: boolean): void {
  const id = conversationId;
  conversationId = undefined;
  ui.conversation.hidden = true;
  clearTimeout(typingTimer);
  if (id !== undefined && !rows.has(id)) {
    // Its row left the table while the conversation was open.
    session?.unfollow(id);
    messages.delete(id);
  }
  if (!restoreFocus) return;
  if (conversationOpener?.isConnected === true) conversationOpener.focus();
  else ui.dashboardTitle.focus();
  conversationOpener = undefined;
}

function sendMessage(): void {
  const id = conversationId;
  const text = ui.conversationInput.value.trim();
  if (id === undefined || session === undefined) return;
  if (text === '') {
    setFieldError(ui.conversationInput, ui.conversationError, 'Write a message first.');
    return;
  }
  ui.conversationSend.disabled = true;
  setFieldError(ui.conversationInput, ui.conversationError, undefined);
  session.say(id, text).then(
    () => {
      ui.conversationSend.disabled = false;
      ui.conversationInput.value = '';
    },
    (err: unknown) => {
      ui.conversationSend.disabled = false;
      setFieldError(ui.conversationInput, ui.conversationError, err instanceof Error ? err.message : 'The message was not sent.');
    },
  );
}

ui.conversationForm.addEventListener('submit', (event) => {
  event.preventDefault();
  sendMessage();
});

ui.conversationInput.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    sendMessage();
    return;
  }
  if (conversationId !== undefined && event.key.length === 1) session?.typing(conversationId);
});

ui.conversationClose.addEventListener('click', () => closeConversation(true));
ui.conversation.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') closeConversation(true);
});

window.addEventListener('online', () => session?.retryNow());

// ---- start

setInterval(() => {
  for (const row of rows.values()) renderTime(row);
  if (connection.status === 'waiting') renderConnection();
}, 250);

function boot(): void {
  const stored = readSignIn();
  if (stored !== undefined) begin(stored);
  else showSignIn();
}

boot();
