export { CHAT_QUEUE, createChatService } from './service.ts';
export type { ChatService, ChatServiceDeps } from './service.ts';
