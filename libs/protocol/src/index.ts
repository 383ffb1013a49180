export { AppError, ERROR_CODES, HTTP_STATUS, isAppError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
export {
  ACCOMMODATION_LIMITS,
  ASSESSMENT_STATUSES,
  COMPLETION_REASONS,
  ROLES,
  accommodationsSchema,
  assessmentStatusSchema,
  callerSchema,
  completionReasonSchema,
  errorBodySchema,
  errorCodeSchema,
  idSchema,
  optionSchema,
  roleSchema,
  testIdSchema,
} from './common.ts';
export type { Accommodations, AssessmentStatus, Caller, CompletionReason, ErrorBody, Option, Role } from './common.ts';
export {
  CLIENT_FRAME_TYPES,
  MAX_CHAT_CHARS,
  MAX_FRAME_BYTES,
  chatMessageSchema,
  clientEnvelopeSchema,
  clientFrameData,
  completedSchema,
  issueList,
  liveAssessmentSchema,
  roomSchema,
  parseClientFrame,
  progressSchema,
  questionSchema,
  resultSchema,
  serverEnvelopeSchema,
  serverFrameData,
  startApprovalSchema,
  testInfoSchema,
  testSummarySchema,
} from './frames.ts';
export type {
  AssessmentCompleted,
  AssessmentResult,
  ChatMessage,
  ClientEnvelope,
  ClientFrame,
  ClientFrameDataOf,
  ClientFrameType,
  FrameParseResult,
  LiveAssessment,
  Room,
  Progress,
  Question,
  ServerFrame,
  ServerFrameDataOf,
  ServerFrameType,
  StartApproval,
  TestInfo,
  TestSummary,
} from './frames.ts';
export {
  defaultPolyModel,
  isPolytomousType,
  ITEM_TYPES,
  itemSchema,
  practiceSchema,
  skillTargetSchema,
  testDefinitionSchema,
} from './definitions.ts';
export type { Item, ItemType, Practice, TestDefinition, TestDefinitionInput } from './definitions.ts';
export { endpointHandlerTimeout, endpointRoles, endpoints, replySchema } from './bus.ts';
export type { EndpointName, ParsedRequestOf, Reply, RequestOf, ResponseOf } from './bus.ts';
export { ASSESSMENT_STREAM, SUPPORT_ROOM_PREFIX, assessmentIdOfRoom, assessmentRoomId, events, streamEvents } from './events.ts';
export type { EventInputOf, EventKeyOf, EventName, EventOf, StreamEventName, StreamEventOf, UserPush } from './events.ts';
export { TOKEN_AUDIENCE, TOKEN_ISSUER, tokenClaimsSchema } from './tokens.ts';
export type { TokenClaims } from './tokens.ts';
export {
  httpBodies,
  httpErrorSchema,
  ltiPlatformsReplySchema,
  ltiRegisterReplySchema,
  recruiterTestsSchema,
  reportQuerySchema,
  resultsQuerySchema,
} from './http.ts';
export { QTI_MEDIA_TYPES, qtiImportQuerySchema, qtiImportResponseSchema, qtiProblemSchema } from './qti-import.ts';
export type { QtiProblem } from './qti-import.ts';
export { assessmentReportSchema, itemStatsSchema, polyIrtSchema, recruiterTestSchema } from './recruiter.ts';
export type { AssessmentReport, ItemStats, RecruiterTest } from './recruiter.ts';
export { cleanDisplayName, stripUnsafeText } from './text.ts';
export { asyncApiDocument, CLIENT_FRAME_REPLIES, WS_ENDPOINTS } from './docs/asyncapi.ts';
export { HTTP_ROUTES, openApiDocument } from './docs/openapi.ts';
export { apiDocumentsYaml } from './docs/yaml.ts';
export {
  ACTIVE_STATUSES,
  FINAL_STATUSES,
  OPEN_STATUSES,
  candidateHolds,
  isActive,
  isFinal,
  isOpen,
  secondsLeft,
  staffMaySee,
  staffMaySeeAll,
  systemClock,
} from './rules.ts';
export type { Clock, Countdown } from './rules.ts';
export { retryDelayMs } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export {
  AGS_MEDIA,
  AGS_SCOPES,
  LTI_CLAIMS,
  LTI_RESOURCE_LINK_REQUEST,
  LTI_VERSION,
  gradeSchema,
  ltiLaunchFormSchema,
  ltiLoginQuerySchema,
  ltiPlatformSchema,
  ltiPlatformViewSchema,
  ltiRoleOf,
  ltiToolUrlsSchema,
  platformUrlSchema,
} from './lti.ts';
export type { Grade, LtiPlatform } from './lti.ts';
