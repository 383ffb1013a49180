export { REQUEST_ID_HEADER, connectBus, createBus } from './bus.ts';
export type { Bus, BusMetrics, BusOptions, Handler, HandlerContext, RequestOptions } from './bus.ts';
export { openEventStream, openLease } from './jetstream.ts';
export type { EventStream, Lease } from './jetstream.ts';
export { startDelivery } from './delivery.ts';
export type { DeliveryOptions, DeliveryOutcome } from './delivery.ts';
