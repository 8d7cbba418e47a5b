/**
 * A small typed emitter for the three transport events. Listener arrays are
 * walked directly (no EventEmitter argument spreading) because `message` fires
 * once per datagram on the hot path. A throwing listener is logged and does not
 * stop the others, nor reach the socket callback that delivered the message.
 */
import type { Flow, InboundFailure, Inbound, TransportEvents } from './types.js';
import type { TransportLogger } from './options.js';

type Listeners = { [E in keyof TransportEvents]: TransportEvents[E][] };

export class TransportEmitter {
  private readonly listeners: Listeners = { message: [], malformed: [], flowClosed: [] };

  constructor(private readonly log: TransportLogger) {}

  on<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    // Copy on write: a listener removed while an event is being delivered does not shift the loop.
    this.listeners[event] = [...this.listeners[event], listener] as Listeners[E];
  }

  off<E extends keyof TransportEvents>(event: E, listener: TransportEvents[E]): void {
    const list = this.listeners[event];
    const at = list.indexOf(listener);
    if (at >= 0) this.listeners[event] = [...list.slice(0, at), ...list.slice(at + 1)] as Listeners[E];
  }

  message(inbound: Inbound): void {
    const list = this.listeners.message;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as TransportEvents['message'])(inbound);
      } catch (err) {
        this.log.error({ err, flow: inbound.flow.id }, 'message listener threw');
      }
    }
  }

  malformed(failure: InboundFailure): void {
    const list = this.listeners.malformed;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as TransportEvents['malformed'])(failure);
      } catch (err) {
        this.log.error({ err, flow: failure.flow.id }, 'malformed listener threw');
      }
    }
  }

  flowClosed(flow: Flow): void {
    const list = this.listeners.flowClosed;
    for (let i = 0; i < list.length; i++) {
      try {
        (list[i] as TransportEvents['flowClosed'])(flow);
      } catch (err) {
        this.log.error({ err, flow: flow.id }, 'flowClosed listener threw');
      }
    }
  }
}
