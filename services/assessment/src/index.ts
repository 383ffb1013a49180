export { createAssessmentService } from './service.ts';
export type { AssessmentService } from './service.ts';
