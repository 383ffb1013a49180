import type { Subscription } from '@nats-io/transport-node';

/**
 * Connections grouped by a key (a user, a room, a watched subject), with one set of bus
 * subscriptions per key on this gateway however many connections share it: subscribed when the
 * first connection joins, unsubscribed when the last one leaves.
 */
export class Fanout<C> {
  private readonly groups = new Map<string, { subs: Subscription[]; members: Set<C> }>();
  private readonly keysByMember = new Map<C, Set<string>>();

  /** `subscribe` opens the subscriptions of a key; their handlers look the members up with {@link members}. */
  private readonly subscribe: (key: string) => Subscription[];

  constructor(subscribe: (key: string) => Subscription[]) {
    this.subscribe = subscribe;
  }

  join(key: string, member: C): void {
    let group = this.groups.get(key);
    if (group === undefined) {
      group = { subs: this.subscribe(key), members: new Set() };
      this.groups.set(key, group);
    }
    group.members.add(member);
    let keys = this.keysByMember.get(member);
    if (keys === undefined) {
      keys = new Set();
      this.keysByMember.set(member, keys);
    }
    keys.add(key);
  }

  leave(key: string, member: C): void {
    const keys = this.keysByMember.get(member);
    keys?.delete(key);
    if (keys?.size === 0) this.keysByMember.delete(member);
    const group = this.groups.get(key);
    if (group === undefined) return;
    group.members.delete(member);
    if (group.members.size > 0) return;
    for (const sub of group.subs) sub.unsubscribe();
    this.groups.delete(key);
  }

  /** Leaves every key the member joined (or those that `which` selects). */
  leaveAll(member: C, which: (key: string) => boolean = () => true): void {
    for (const key of this.keysOf(member)) if (which(key)) this.leave(key, member);
  }

  has(key: string, member: C): boolean {
    return this.keysByMember.get(member)?.has(key) === true;
  }

  keysOf(member: C): string[] {
    return [...(this.keysByMember.get(member) ?? [])];
  }

  /** The members of a key, as a copy (handlers may make members leave). */
  members(key: string): C[] {
    const group = this.groups.get(key);
    return group === undefined ? [] : [...group.members];
  }

  /** Keys with at least one member (for metrics and tests). */
  size(): number {
    return this.groups.size;
  }
}
