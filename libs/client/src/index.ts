export {
  DEFAULT_TIMEOUT_MS,
  FRAME_LOG_LIMIT,
  UnexpectedFrameError,
  connectClient,
  describeFrame,
  expectFrame,
  withToken,
} from './client.ts';
export type {
  CloseInfo,
  ConnectOptions,
  FrameListener,
  OutgoingFrame,
  PlatformClient,
  RequestOptions,
  ServerFrameOf,
  WebSocketConstructorLike,
  WebSocketLike,
} from './client.ts';
export { RETRYABLE_CODES, retryAfterOf, retryDelayMs } from './backoff.ts';
export type { BackoffOptions } from './backoff.ts';
export { QuestionCapError, playAssessment } from './play.ts';
export type { PlayOptions } from './play.ts';
export { HttpApiError, apiBaseFromWsUrl, login, redeemInvitation } from './http.ts';
export type { LoginResult, RedeemResult } from './http.ts';
