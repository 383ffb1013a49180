export { createGateway } from './gateway.ts';
export type { Gateway } from './gateway.ts';
export { CLOSE } from './connection.ts';
export type { GatewayOptions } from './hub.ts';
export { createTokenVerifier } from './tokens.ts';
export type { Identity, TokenVerifier } from './tokens.ts';
