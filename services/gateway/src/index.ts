export { createGateway } from './gateway.ts';
export type { Gateway } from './gateway.ts';
export { CLOSE } from './connections.ts';
export type { GatewayOptions } from './connections.ts';
export { createTokenVerifier } from './tokens.ts';
export type { Identity, TokenVerifier } from './tokens.ts';
