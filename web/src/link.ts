/**
 * One authenticated WebSocket to the gateway at a time, reconnected with backoff. This is the part
 * of a page's connection that does not depend on what the page does with it: the candidate page
 * resumes its assessment on each connection, the proctor page re-reads its live feed.
 * No DOM here.
 */
import { connectClient } from '@ap/client';
import type { CloseInfo, ConnectOptions, PlatformClient } from '@ap/client';
import type { ServerFrame } from '@ap/protocol';

/** What the connection is doing, for the always-visible status. */
export type ConnectionState =
  | { status: 'connecting'; attempt: number }
  | { status: 'open' }
  | { status: 'waiting'; attempt: number; retryAt: number; reason: string }
  | { status: 'closed'; reason: string };

/** Reconnect delays: 0.5 s doubling to 15 s, with jitter so that many pages do not return at once. */
export function backoffMs(attempt: number, random: () => number): number {
  const base = Math.min(15_000, 500 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.5 + random() / 2));
}

/** Close codes the gateway uses for an expired token and for a socket that did not authenticate in time. */
const CLOSE_TOKEN_EXPIRED = 4402;
const CLOSE_AUTH_TIMEOUT = 4401;

export type LinkOptions = {
  url: string;
  token: string;
  connect?: (options: ConnectOptions) => Promise<PlatformClient>;
  random?: () => number;
  /** A request without a reply within this long counts as a dead connection (ms). */
  requestTimeoutMs?: number;
  /** The connection's state, for the always-visible status. */
  state(state: ConnectionState): void;
  /**
   * Runs on each new, authenticated connection and calls `link.markLive()` once the page has what
   * it needs. Throwing (a request failed or timed out) starts over on a fresh connection.
   */
  handshake(client: PlatformClient): Promise<void>;
  /** Every frame received on the current connection. */
  frame(frame: ServerFrame): void;
  /** The current connection dropped; before anything else happens. */
  dropped?(): void;
  /** A close the page handles itself (e.g. 4409 session replaced): return true, and the link does not reconnect. */
  closed?(info: CloseInfo): boolean;
  /** The token was refused or expired: the link has stopped and the user must sign in again. */
  signedOut(message: string): void;
};

export class Link {
  #options: LinkOptions;
  #connect: (options: ConnectOptions) => Promise<PlatformClient>;
  #random: () => number;
  #client: PlatformClient | undefined;
  #generation = 0;
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #live = false;

  constructor(options: LinkOptions) {
    this.#options = options;
    this.#connect = options.connect ?? connectClient;
    this.#random = options.random ?? Math.random;
  }

  /** The current connection, open or not. */
  get client(): PlatformClient | undefined {
    return this.#client;
  }

  /** Whether the handshake finished on the current connection and it is still open. */
  get live(): boolean {
    return this.#live && this.#client?.isOpen === true;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Opens the first connection. */
  open(): void {
    void this.#run();
  }

  /** Called by the handshake: the connection is ready for the page. */
  markLive(): void {
    this.#attempt = 0;
    this.#live = true;
    this.#options.state({ status: 'open' });
  }

  /** Gives up on a connection (by default the current one) whose request got no reply: the link reconnects. */
  restart(reason: string, client: PlatformClient | undefined = this.#client): void {
    if (client?.isOpen === true) client.close(4000, reason);
  }

  /** Skips the wait of a scheduled reconnect (e.g. the browser is online again). */
  retryNow(): void {
    if (this.#retryTimer === undefined || this.#stopped) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    void this.#run();
  }

  /** Stops for good: no reconnect. */
  stop(reason: string): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#live = false;
    clearTimeout(this.#retryTimer);
    this.#client?.close(1000, reason);
    this.#options.state({ status: 'closed', reason });
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    const generation = ++this.#generation;
    this.#attempt += 1;
    this.#live = false;
    this.#options.state({ status: 'connecting', attempt: this.#attempt });
    let client: PlatformClient;
    try {
      client = await this.#connect({ url: this.#options.url, timeoutMs: this.#options.requestTimeoutMs ?? 10_000 });
    } catch {
      this.#retry(generation, 'the server cannot be reached');
      return;
    }
    if (!this.#isCurrent(generation)) {
      client.close();
      return;
    }
    this.#client = client;
    client.on('*', (frame) => {
      if (generation === this.#generation) this.#options.frame(frame);
    });
    void client.closed.then((info) => {
      if (!this.#isCurrent(generation)) return;
      this.#live = false;
      this.#options.dropped?.();
      if (this.#options.closed?.(info) === true) return;
      if (info.code === CLOSE_TOKEN_EXPIRED || info.code === CLOSE_AUTH_TIMEOUT) {
        this.#signOut(
          info.code === CLOSE_TOKEN_EXPIRED
            ? 'Your sign-in has expired. Please sign in again.'
            : 'Signing in took too long. Please sign in again.',
        );
        return;
      }
      this.#retry(generation, info.code === 1001 ? 'the server is restarting' : 'the connection was lost');
    });
    try {
      const auth = await client.auth(this.#options.token);
      if (auth.type === 'error') {
        if (auth.data.code === 'AUTH_INVALID' || auth.data.code === 'FORBIDDEN') {
          this.#signOut('This sign-in is no longer valid. Please sign in again.');
          return;
        }
        throw new Error(auth.data.message);
      }
      await this.#options.handshake(client);
    } catch {
      // A request failed or timed out: start over on a fresh connection.
      if (this.#isCurrent(generation)) client.close(4000, 'retrying');
    }
  }

  /** Whether `generation` is still the live connection (read through a method: it changes across awaits). */
  #isCurrent(generation: number): boolean {
    return generation === this.#generation && !this.#stopped;
  }

  #signOut(message: string): void {
    this.stop('signed out');
    this.#options.signedOut(message);
  }

  #retry(generation: number, reason: string): void {
    if (generation !== this.#generation || this.#stopped) return;
    const delay = backoffMs(this.#attempt, this.#random);
    this.#options.state({ status: 'waiting', attempt: this.#attempt, retryAt: Date.now() + delay, reason });
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#run();
    }, delay);
  }
}
