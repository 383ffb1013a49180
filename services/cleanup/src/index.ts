export { CLEANUP_CALLER, createCleanupService } from './sweep.ts';
export type { AcquireLease, CleanupService, CleanupServiceDeps, Clock, SweepReport } from './sweep.ts';
