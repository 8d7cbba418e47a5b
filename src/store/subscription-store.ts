/**
 * Presence subscriptions (RFC 6665 dialogs, RFC 3856 event package): what a
 * SUBSCRIBE created and every later NOTIFY needs. Kept in the store so that
 * in cluster mode each node sees who watches whom, and a node that dies
 * leaves nothing behind (Redis keys expire with the subscription).
 *
 * One node sends the NOTIFYs of a subscription: the one that accepted it
 * (`node`), because it holds the subscriber's connection and the dialog's
 * CSeq sequence.
 */
import type { Protocol } from '../transport/types.js';

export interface Subscription {
  /** Unique: Call-ID, our tag and the subscriber's tag (the dialog id, RFC 3261 §12). */
  id: string;
  accountSid: string;
  /** The watched client. */
  presentity: string;
  /** The subscriber's identity (a client of the same account). */
  watcher: string;
  callId: string;
  /** Our tag (To of the SUBSCRIBE, From of the NOTIFYs). */
  localTag: string;
  remoteTag: string;
  /** The watched resource as the subscriber named it (the SUBSCRIBE's Request-URI): the PIDF entity. */
  entity: string;
  /** URI of our side as the subscriber addressed it (the SUBSCRIBE's To URI). */
  localUri: string;
  /** The subscriber's From, name-addr without the tag. */
  remoteUri: string;
  /** Remote target: the subscriber's Contact URI (§12.1.1). */
  remoteTarget: string;
  /** Route set from the SUBSCRIBE's Record-Route, in order (§12.1.1). */
  routeSet: string[];
  /** The Event header's `id` parameter, echoed in every NOTIFY (RFC 6665 §8.2.1); null without one. */
  eventId: string | null;
  /** CSeq of the last NOTIFY we sent (§12.2.1.1: strictly increasing). */
  localCseq: number;
  /** CSeq of the last SUBSCRIBE received in the dialog (§12.2.2: lower ones get 500). */
  remoteCseq: number;
  /** ms since the epoch. */
  expiresAt: number;
  /** No refresh reaches past this (the subscriber's access token expiry, ms); null for Digest users. */
  notAfter: number | null;
  node: string;
  flowId: string;
  transport: Protocol;
}

export interface SubscriptionStore {
  get(id: string): Promise<Subscription | null>;
  /** Inserts or replaces (same id). */
  put(subscription: Subscription): Promise<void>;
  /** Removes it; true when it existed. */
  remove(id: string): Promise<boolean>;
  /** Unexpired subscriptions watching a client. */
  watching(accountSid: string, presentity: string, now: number): Promise<Subscription[]>;
  /** This node's subscriptions that came over a flow. */
  byFlow(node: string, flowId: string): Promise<Subscription[]>;
  /** Removes this node's subscriptions expired at `now` and returns them (each goes out with a final NOTIFY). */
  sweep(node: string, now: number): Promise<Subscription[]>;
  count(): Promise<number>;
}
