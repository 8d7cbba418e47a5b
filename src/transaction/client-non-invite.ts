/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6):
 *
 *   Trying --1xx--> Proceeding --final--> Completed --Timer K--> Terminated
 *      \______________final_______________/
 *   Trying / Proceeding --Timer F--> Terminated (timeout)
 *
 * Over UDP the request is retransmitted on Timer E: T1 doubling up to T2 while
 * Trying, every T2 once Proceeding (§17.1.2.2).
 */
import type { SipResponse } from '../sip/message.js';
import { ClientTransactionBase } from './client-base.js';
import type { TimerHandle, TimerName } from './timers.js';

export class NonInviteClientTransaction extends ClientTransactionBase {
  private timerE: TimerHandle | null = null;
  private timerF: TimerHandle | null = null;
  private timerK: TimerHandle | null = null;
  private intervalE = 0;

  start(): void {
    const t1 = this.ctx.settings.t1;
    // §17.1.2.2: Timer E (UDP only) starts at T1; Timer F = 64·T1 on every transport.
    if (!this.reliable) {
      this.intervalE = t1;
      this.timerE = this.ctx.timers.start(t1, this, 'E');
    }
    this.timerF = this.ctx.timers.start(64 * t1, this, 'F');
    this.send(this.request);
  }

  protected pending(): boolean {
    return this.state === 'trying' || this.state === 'proceeding';
  }

  receiveResponse(response: SipResponse): void {
    if (!this.pending()) return; // §17.1.2.2: Completed absorbs retransmitted responses.
    if (response.status < 200) {
      // §17.1.2.2: a provisional response moves Trying to Proceeding (Timer E keeps running, at T2).
      this.state = 'proceeding';
      this.deliver(response);
      return;
    }
    // §17.1.2.2: a final response → Completed; Timer K = T4 on UDP, 0 on reliable transports.
    this.state = 'completed';
    this.timerE = this.ctx.timers.cancel(this.timerE);
    this.timerF = this.ctx.timers.cancel(this.timerF);
    this.deliver(response);
    if (this.state !== 'completed') return;
    if (this.reliable) return this.terminate();
    // Timer K's 5 s only absorb retransmitted responses: neither the request nor the TU (a call) is needed.
    this.letGo();
    this.timerK = this.ctx.timers.start(this.ctx.settings.t4, this, 'K');
  }

  onTimer(name: TimerName): void {
    switch (name) {
      case 'E': {
        this.timerE = null;
        if (!this.pending()) return;
        this.send(this.request);
        if (!this.pending()) return;
        // §17.1.2.2: Trying doubles up to T2; Proceeding retransmits every T2.
        const t2 = this.ctx.settings.t2;
        this.intervalE = this.state === 'trying' ? Math.min(2 * this.intervalE, t2) : t2;
        this.timerE = this.ctx.timers.start(this.intervalE, this, 'E');
        return;
      }
      case 'F':
        // §17.1.2.2: Timer F in Trying or Proceeding → Terminated, the TU is told of the timeout.
        this.timerF = null;
        if (this.pending()) this.timeout();
        return;
      case 'K':
        this.timerK = null;
        if (this.state === 'completed') this.terminate();
        return;
      default:
        return;
    }
  }

  protected clearTimers(): void {
    const timers = this.ctx.timers;
    this.timerE = timers.cancel(this.timerE);
    this.timerF = timers.cancel(this.timerF);
    this.timerK = timers.cancel(this.timerK);
  }
}
