/**
 * One mediasoup WebRtcServer per worker: every browser leg on that worker
 * shares its one UDP port (ICE tells the transports apart by their username
 * fragment), so a browser call takes no port of its own from
 * HERALD_RTP_PORTS and a firewall needs one port per worker for browsers.
 *
 * No ICE-TCP candidate: with one offered next to the UDP one, Chromium
 * (the controlling agent; Herald is ICE-lite) now and then nominated the TCP
 * pair even on loopback, where UDP works — audio over TCP stalls on every
 * loss. A browser whose network blocks UDP needs a TURN server of its own.
 *
 * Made when a worker's first browser leg needs it, not when the worker
 * starts: a node that never sees a browser keeps every port of the range for
 * plain RTP legs, and a range too small for it fails that leg (503), not the
 * engine. It lives as long as its worker (mediasoup closes it with the worker).
 */
import type { types as ms } from 'mediasoup';
import { isPortExhaustion, MediaCapacityError } from './media-capacity-error.js';

export class WebRtcServers {
  private readonly servers = new WeakMap<ms.Worker, Promise<ms.WebRtcServer>>();

  /** `listenInfos` gives where a server listens (HERALD_RTP_PORTS, announced as HERALD_PUBLIC_HOST). */
  constructor(private readonly listenInfos: () => ms.TransportListenInfo[]) {}

  /** The worker's server, made on first use. Throws MediaCapacityError when HERALD_RTP_PORTS has no free port for it. */
  for(worker: ms.Worker): Promise<ms.WebRtcServer> {
    let server = this.servers.get(worker);
    if (server === undefined) {
      server = this.create(worker);
      this.servers.set(worker, server);
    }
    return server;
  }

  private async create(worker: ms.Worker): Promise<ms.WebRtcServer> {
    const listenInfos = this.listenInfos();
    try {
      return await worker.createWebRtcServer({ listenInfos, appData: { webRtcServer: true } });
    } catch (err) {
      // Not cached: a later leg tries again (ports may have been freed meanwhile).
      this.servers.delete(worker);
      const range = listenInfos[0]?.portRange;
      if (isPortExhaustion(err)) throw new MediaCapacityError(`no free media port in HERALD_RTP_PORTS ${range?.min}-${range?.max} for the WebRTC server`);
      throw err;
    }
  }
}
