export { createAssessmentService } from './service.ts';
export type { AssessmentService, Clock } from './service.ts';
export { computeResult, linearOrder, loadTest, planNext } from './selection.ts';
export type { LoadedTest, Plan } from './selection.ts';
export type { AssessmentDoc, ItemDoc, ResponseDoc, TestDoc } from './store.ts';
export { createOnlineTracker, helpContextView, liveView, resultRow, safeClarification } from './live.ts';
export type { OnlineTracker } from './live.ts';
