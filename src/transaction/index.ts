/** The transaction layer (RFC 3261 §17, RFC 6026). */
export { TransactionLayer, type TransactionLayerOptions } from './transaction-layer.js';
export { createCancel } from './cancel.js';
export { createNon2xxAck } from './ack.js';
export { resolveTimers, type TransactionTimerSettings } from './timers.js';
export type { TransactionLogger } from './context.js';
export * from './types.js';
