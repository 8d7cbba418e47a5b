/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8):
 *
 *   Trying --1xx--> Proceeding --final--> Completed --Timer J--> Terminated
 *      \________________final________________/
 *
 * Retransmitted requests are absorbed: nothing is sent in Trying, the last
 * provisional is resent in Proceeding and the final response in Completed.
 *
 * Over UDP, Completed usually lasts in compact form: the layer keeps only the
 * final response under the transaction's key (see lingering.ts) and this
 * object is let go; its state and onTerminated then follow that entry.
 */
import type { SipRequest, SipResponse } from '../sip/message.js';
import type { Flow } from '../transport/types.js';
import type { TransactionContext } from './context.js';
import { ServerTransactionBase } from './server-base.js';
import type { TimerHandle, TimerName } from './timers.js';

export class NonInviteServerTransaction extends ServerTransactionBase {
  private timerJ: TimerHandle | null = null;

  constructor(id: string, request: SipRequest, flow: Flow, ctx: TransactionContext) {
    super(id, request, flow, ctx, 'trying');
  }

  respond(response: SipResponse): void {
    if (!this.acceptable(response)) return;
    if (this.state !== 'trying' && this.state !== 'proceeding') {
      // §17.2.2: once Completed, further responses from the TU are discarded.
      this.ctx.log.debug({ txn: this.id, status: response.status }, 'response after final ignored');
      return;
    }
    if (response.status < 200) {
      // §17.2.2: a provisional response moves Trying to Proceeding.
      this.current = 'proceeding';
      this.sendAndRemember(response);
      return;
    }
    // §17.2.2: a final response moves to Completed; Timer J = 64·T1 on UDP, 0 on reliable transports.
    this.current = 'completed';
    this.sendAndRemember(response);
    if (this.reliable) {
      this.terminate();
      return;
    }
    this.releaseRequest();
    // Nobody listens for the end: Timer J runs in the layer's compact table (lingering.ts).
    if (!this.compact()) this.timerJ = this.ctx.timers.start(64 * this.ctx.settings.t1, this, 'J');
  }

  receiveRetransmission(_request: SipRequest): void {
    // §17.2.2: Trying absorbs silently; Proceeding and Completed resend the last response.
    if (this.state === 'proceeding' || this.state === 'completed') this.resendLast();
  }

  onTimer(name: TimerName): void {
    this.timerJ = null;
    // §17.2.2: Timer J fires in Completed → Terminated.
    if (name === 'J' && this.state === 'completed') this.terminate();
  }

  protected clearTimers(): void {
    this.timerJ = this.ctx.timers.cancel(this.timerJ);
  }
}
