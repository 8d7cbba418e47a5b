/**
 * SSRC latching: a Producer for a plain RTP peer whose SSRC is not known in
 * advance.
 *
 * mediasoup binds incoming RTP to a Producer by SSRC (or by the MID/RID
 * header extensions, which only WebRTC endpoints send); a Producer without
 * one is refused ("missing ssrc or rid, or rtpParameters.mid"). SIP phones
 * and trunks seldom announce their SSRC (sipp and linphone write no a=ssrc)
 * and may change it, so Herald learns it from the traffic: a packet that
 * reaches a transport with no Producer for its SSRC makes the worker log
 * `no suitable Producer for received RTP packet [ssrc:N, payloadType:P]`
 * (tag `rtp`, enabled for Herald's workers). The engine turns those lines
 * into reports; a leg waiting for its SSRC tries each reported SSRC of its
 * worker and payload type as a Producer on its own transport and keeps the
 * one that really receives packets (its first `rtp` trace event).
 *
 * Why the try: the report does not say which transport the packet reached.
 * Trying is safe, because SSRCs are matched per transport: a Producer made
 * for another transport's SSRC receives nothing and is closed, so audio can
 * never cross between calls.
 */
import { EventEmitter } from 'node:events';
import type { types as ms } from 'mediasoup';

/** One packet the worker could not give to a Producer. */
export interface UnknownSsrc {
  pid: number;
  ssrc: number;
  payloadType: number;
}

const REPORT = /^\[pid:(\d+)\] RTC::Transport::ReceiveRtpPacket\(\) \| no suitable Producer for received RTP packet \[ssrc:(\d+), payloadType:(\d+)\]/;

/** The worker logs' unknown-SSRC lines, as events. */
export class UnknownSsrcReports extends EventEmitter<{ report: [UnknownSsrc] }> {
  constructor() {
    super();
    // One listener per leg waiting for its first packet.
    this.setMaxListeners(0);
  }

  /** A mediasoup warning line: true (and a report) when it is an unknown SSRC, which is expected and not worth a warning. */
  take(text: string): boolean {
    const m = REPORT.exec(text);
    if (m === null) return false;
    this.emit('report', { pid: Number(m[1]), ssrc: Number(m[2]), payloadType: Number(m[3]) });
    return true;
  }
}

export interface LatchOptions {
  transport: ms.Transport;
  reports: UnknownSsrcReports;
  /** The pid of the worker that holds the transport. */
  workerPid: number;
  /** The payload type the peer's audio comes with. */
  payloadType: number;
  /** The Producer's RTP parameters but for the SSRC. */
  rtpParameters: ms.RtpParameters;
  /** Stop waiting (the call ended). */
  signal: AbortSignal;
}

/**
 * Resolves with a Producer on `transport` for the SSRC the peer really sends
 * with, once its packets come. Rejects with the signal's reason if aborted first.
 */
export function latchProducer(o: LatchOptions): Promise<ms.Producer> {
  return new Promise((resolve, reject) => {
    const tried = new Set<number>();
    const candidates = new Set<ms.Producer>();
    let done = false;
    const finish = (winner: ms.Producer | null, err?: unknown) => {
      if (done) return;
      done = true;
      o.reports.off('report', onReport);
      o.signal.removeEventListener('abort', onAbort);
      for (const c of candidates) if (c !== winner && !c.closed) c.close();
      if (winner !== null) {
        winner.removeAllListeners('trace');
        void winner.enableTraceEvent([]).catch(() => undefined);
        resolve(winner);
      } else reject(err);
    };
    const onAbort = () => finish(null, o.signal.reason);
    const onReport = (r: UnknownSsrc) => {
      if (done || r.pid !== o.workerPid || r.payloadType !== o.payloadType || tried.has(r.ssrc) || o.transport.closed) return;
      tried.add(r.ssrc);
      void tryCandidate(r.ssrc);
    };
    const tryCandidate = async (ssrc: number) => {
      let producer: ms.Producer;
      try {
        producer = await o.transport.produce({ kind: 'audio', rtpParameters: { ...o.rtpParameters, encodings: [{ ssrc }] } });
      } catch {
        // The transport closed, or this SSRC is taken on it: not ours.
        return;
      }
      if (done) return producer.close();
      candidates.add(producer);
      producer.once('trace', () => finish(producer));
      await producer.enableTraceEvent(['rtp']).catch(() => undefined);
    };
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener('abort', onAbort);
    o.reports.on('report', onReport);
  });
}
