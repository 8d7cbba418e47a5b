/**
 * INVITE client transaction (RFC 3261 §17.1.1, Figure 5, as updated by RFC 6026 §8.4):
 *
 *   Calling --1xx--> Proceeding --2xx--> Accepted --Timer M--> Terminated
 *      |                 \--3xx-6xx (send ACK)--> Completed --Timer D--> Terminated
 *      \--Timer B--> Terminated (timeout)
 *
 * Over UDP the INVITE is retransmitted on Timer A (T1, doubling) while Calling.
 * Every 2xx — retransmissions and other forks' — reaches the TU while Accepted;
 * retransmitted final failures are answered with the same ACK and not passed up.
 */
import type { SipResponse } from '../sip/message.js';
import { serialize } from '../sip/serializer.js';
import { createNon2xxAck } from './ack.js';
import { ClientTransactionBase } from './client-base.js';
import type { TimerHandle, TimerName } from './timers.js';

export class InviteClientTransaction extends ClientTransactionBase {
  private timerA: TimerHandle | null = null;
  private timerB: TimerHandle | null = null;
  private timerD: TimerHandle | null = null;
  private timerM: TimerHandle | null = null;
  private intervalA = 0;
  /** The ACK sent for the final failure, as sent: resent for each retransmission of it (§17.1.1.2). */
  private ack: Buffer | null = null;

  start(): void {
    const t1 = this.ctx.settings.t1;
    // §17.1.1.2: Timer A (UDP only) starts at T1; Timer B = 64·T1 on every transport.
    if (!this.reliable) {
      this.intervalA = t1;
      this.timerA = this.ctx.timers.start(t1, this, 'A');
    }
    this.timerB = this.ctx.timers.start(64 * t1, this, 'B');
    this.send(this.request);
  }

  protected pending(): boolean {
    return this.state === 'calling' || this.state === 'proceeding';
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        this.timerA = this.ctx.timers.cancel(this.timerA);
        this.timerB = this.ctx.timers.cancel(this.timerB);
        if (status < 200) {
          // §17.1.1.2: a provisional response moves to Proceeding; no more retransmissions.
          this.state = 'proceeding';
          this.deliver(response);
        } else if (status < 300) {
          // RFC 6026 §8.4: 2xx → Accepted, Timer M = 64·T1.
          this.state = 'accepted';
          this.timerM = this.ctx.timers.start(64 * this.ctx.settings.t1, this, 'M');
          this.releaseRequest();
          this.deliver(response);
        } else {
          // §17.1.1.2: 3xx–6xx → Completed: ACK it, pass it up, Timer D (UDP) / 0 (reliable).
          this.state = 'completed';
          const ack = serialize(createNon2xxAck(this.request, response));
          this.ack = ack;
          this.releaseRequest();
          this.ctx.transport.sendBytes(ack, this.target, this.onSendError);
          this.deliver(response);
          if (this.state !== 'completed') return;
          if (this.reliable) this.terminate();
          // Timer D's 32 s as bytes in the layer's table (client-base.ts), or as this object when someone waits for the end.
          else if (!this.compact(ack, this.target)) this.timerD = this.ctx.timers.start(this.ctx.settings.timerD, this, 'D');
        }
        return;
      case 'accepted':
        // RFC 6026 §8.4: every 2xx (retransmission or another fork) goes to the TU.
        if (status >= 200 && status < 300) this.deliver(response);
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response is ACKed again and absorbed.
        if (status >= 300 && this.ack !== null) this.ctx.transport.sendBytes(this.ack, this.target, this.onSendError);
        return;
      default:
        return;
    }
  }

  onTimer(name: TimerName): void {
    switch (name) {
      case 'A':
        // §17.1.1.2: Timer A retransmits the INVITE and doubles (no T2 cap for INVITE).
        this.timerA = null;
        if (this.state !== 'calling') return;
        this.send(this.request);
        this.intervalA *= 2;
        if (this.state === 'calling')
          this.timerA = this.ctx.timers.start(this.intervalA, this, 'A');
        return;
      case 'B':
        // §17.1.1.2: Timer B fires in Calling → Terminated, the TU is told of the timeout.
        this.timerB = null;
        if (this.state === 'calling') this.timeout();
        return;
      case 'D':
        this.timerD = null;
        if (this.state === 'completed') this.terminate();
        return;
      case 'M':
        this.timerM = null;
        if (this.state === 'accepted') this.terminate();
        return;
      default:
        return;
    }
  }

  protected clearTimers(): void {
    const timers = this.ctx.timers;
    this.timerA = timers.cancel(this.timerA);
    this.timerB = timers.cancel(this.timerB);
    this.timerD = timers.cancel(this.timerD);
    this.timerM = timers.cancel(this.timerM);
  }
}
