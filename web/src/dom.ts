/**
 * DOM helpers both pages use: element look-up, the connection status, field errors, chat
 * messages, and the sign-in kept in `sessionStorage`. Text from the server is only ever set with
 * `textContent`.
 */
import type { ChatMessage } from '@ap/protocol';
import { plural } from './clock.ts';
import type { ConnectionState } from './link.ts';

/** An element of the page, looked up once; a missing one is a build error worth failing loudly on. */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const node = document.getElementById(id);
  if (!(node instanceof type)) throw new Error(`#${id} is missing or not a ${type.name}`);
  return node;
}

/**
 * Shows the connection state in a `.connection` element (its symbol comes from `data-state` in the
 * stylesheet) and its text element; `closed` is the text for a connection that has stopped.
 */
export function renderConnectionState(box: HTMLElement, text: HTMLElement, state: ConnectionState, closed: string): void {
  box.dataset['state'] = state.status;
  switch (state.status) {
    case 'connecting':
      text.textContent = state.attempt > 1 ? `Reconnecting (attempt ${state.attempt})…` : 'Connecting…';
      break;
    case 'open':
      text.textContent = 'Connected';
      break;
    case 'waiting': {
      const seconds = Math.max(0, Math.ceil((state.retryAt - Date.now()) / 1000));
      text.textContent = `Offline: ${state.reason}. Reconnecting in ${plural(seconds, 'second')}…`;
      break;
    }
    case 'closed':
      text.textContent = closed;
      break;
  }
}

/** Marks a button as working (disabled, showing `text`) until the returned function puts it back. */
export function busyButton(button: HTMLButtonElement, text: string): () => void {
  const before = button.textContent;
  button.disabled = true;
  button.textContent = text;
  return () => {
    button.disabled = false;
    button.textContent = before;
  };
}

/** Shows or clears the error of a form field, and marks the field invalid for assistive technology. */
export function setFieldError(field: HTMLInputElement | HTMLTextAreaElement, error: HTMLElement, message: string | undefined): void {
  error.hidden = message === undefined;
  error.textContent = message ?? '';
  if (message === undefined) field.removeAttribute('aria-invalid');
  else field.setAttribute('aria-invalid', 'true');
}

/** A table cell with text. */
export function cell(text: string): HTMLTableCellElement {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

/** `12:04`, the local time of an ISO timestamp; empty when it does not parse. */
export function shortTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

/**
 * One chat message as a list item: who (`sender`, with `note` such as "support" after it), when,
 * and the text. Items are kept in time order in `log`, whatever order they arrive in (history read
 * after a reconnect comes after newer live messages).
 */
export function appendChatMessage(log: HTMLElement, message: ChatMessage, sender: string, note?: string): HTMLLIElement {
  const li = document.createElement('li');
  li.dataset['messageId'] = message.message_id;
  li.dataset['role'] = message.sender_role;
  li.dataset['createdAt'] = message.created_at;
  const who = document.createElement('span');
  who.className = 'chat-sender';
  who.textContent = sender;
  li.append(who);
  if (note !== undefined) {
    const extra = document.createElement('span');
    extra.className = 'chat-note';
    extra.textContent = ` (${note})`;
    li.append(extra);
  }
  const time = document.createElement('time');
  time.className = 'chat-time';
  time.dateTime = message.created_at;
  const clock = shortTime(message.created_at);
  time.textContent = clock === '' ? '' : ` ${clock}`;
  const text = document.createElement('p');
  text.className = 'chat-text';
  text.textContent = message.text;
  li.append(time, text);
  const later = [...log.children].find((other) => ((other as HTMLElement).dataset['createdAt'] ?? '') > message.created_at);
  log.insertBefore(li, later ?? null);
  log.scrollTop = log.scrollHeight;
  return li;
}

/** A JSON value kept in `sessionStorage` (a reload of the tab keeps it; closing the tab forgets it). */
export function loadStored(key: string): unknown {
  try {
    const raw = sessionStorage.getItem(key);
    return raw === null ? undefined : (JSON.parse(raw) as unknown);
  } catch {
    return undefined;
  }
}

/** Stores a JSON value in `sessionStorage`, or removes it (`undefined`). */
export function saveStored(key: string, value: unknown): void {
  try {
    if (value === undefined) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage may be disabled: the page still works until it is reloaded.
  }
}
