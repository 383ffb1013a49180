/** A source of the current time, injected so that time-dependent code is testable. */
export type Clock = { now(): Date };
