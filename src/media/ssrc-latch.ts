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
 * (tag `rtp`, enabled for Herald's workers). Herald's worker build
 * (scripts/mediasoup-worker/herald-patches.py) adds the transport's id to
 * that line, so the engine hands each report to the legs of that transport
 * only; the leg tries the reported SSRC of its payload type as a Producer and
 * keeps it once it really receives packets (its first `rtp` trace event).
 *
 * A worker built without the patch (MEDIASOUP_WORKER_BIN) says no transport:
 * then every waiting leg of the worker tries every reported SSRC. That is
 * still safe, because SSRCs are matched per transport (a Producer made for
 * another transport's SSRC receives nothing and is closed, so audio never
 * crosses between calls), but quadratic when many calls start at once.
 */
import type { types as ms } from 'mediasoup';

/** One packet the worker could not give to a Producer. */
export interface UnknownSsrc {
  pid: number;
  ssrc: number;
  payloadType: number;
  /** The transport it reached; null from a worker without Herald's patch. */
  transportId: string | null;
}

type ReportListener = (report: UnknownSsrc) => void;

const REPORT = /^\[pid:(\d+)\] RTC::Transport::ReceiveRtpPacket\(\) \| no suitable Producer for received RTP packet \[ssrc:(\d+), payloadType:(\d+)(?:, transportId:([^\]]+))?\]/;

/** The worker logs' unknown-SSRC lines, handed to the legs of the transport they name. */
export class UnknownSsrcReports {
  private readonly byTransport = new Map<string, Set<ReportListener>>();
  /** Producers made to try a reported SSRC, since the start (`herald_media_ssrc_candidates_total`): about one per leg when reports name their transport. */
  candidatesTried = 0;

  /** Calls `listener` with the reports of `transportId` (and with every report that names no transport); returns the way to stop. */
  watch(transportId: string, listener: ReportListener): () => void {
    let listeners = this.byTransport.get(transportId);
    if (listeners === undefined) this.byTransport.set(transportId, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.byTransport.get(transportId) === listeners) this.byTransport.delete(transportId);
    };
  }

  /** A mediasoup warning line: true (and a report) when it is an unknown SSRC, which is expected and not worth a warning. */
  take(text: string): boolean {
    const m = REPORT.exec(text);
    if (m === null) return false;
    const report: UnknownSsrc = { pid: Number(m[1]), ssrc: Number(m[2]), payloadType: Number(m[3]), transportId: m[4] ?? null };
    if (report.transportId !== null) {
      const listeners = this.byTransport.get(report.transportId);
      if (listeners !== undefined) for (const listener of [...listeners]) listener(report);
    } else {
      for (const listeners of [...this.byTransport.values()]) for (const listener of [...listeners]) listener(report);
    }
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
      stopWatching();
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
      o.reports.candidatesTried++;
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
    let stopWatching = () => {};
    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener('abort', onAbort);
    stopWatching = o.reports.watch(o.transport.id, onReport);
  });
}
