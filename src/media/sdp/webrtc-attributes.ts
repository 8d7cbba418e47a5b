/**
 * What a browser leg's SDP says beyond a plain one (RFC 8829 JSEP, RFC 8839
 * ICE, RFC 8842 DTLS, RFC 8843 BUNDLE): the UDP/TLS/RTP/SAVPF profile,
 * Herald's ICE-lite credentials and candidates, its DTLS fingerprint and
 * role, the stream's mid (bundled alone: one audio m= line), rtcp-mux.
 */
import type { types as ms } from 'mediasoup';
import type { MediaAttributes, SessionDescription } from 'sdp-transform';

export const WEBRTC_PROTOCOL = 'UDP/TLS/RTP/SAVPF';

export interface LocalWebRtc {
  ice: ms.IceParameters;
  candidates: readonly ms.IceCandidate[];
  fingerprint: ms.DtlsFingerprint;
  /** `actpass` in a first offer, else Herald's DTLS role: `passive` (server, as a rule) or `active`. */
  setup: 'actpass' | 'passive' | 'active';
  mid: string;
}

export function webRtcAttributes(l: LocalWebRtc): { media: Partial<MediaAttributes> & { protocol: string }; session: Partial<SessionDescription> } {
  return {
    media: {
      protocol: WEBRTC_PROTOCOL,
      iceUfrag: l.ice.usernameFragment,
      icePwd: l.ice.password,
      fingerprint: { type: l.fingerprint.algorithm, hash: l.fingerprint.value },
      setup: l.setup,
      mid: l.mid,
      candidates: l.candidates.map((c) => ({
        foundation: c.foundation,
        component: 1,
        transport: c.protocol,
        priority: c.priority,
        ip: c.address,
        port: c.port,
        type: c.type,
        ...(c.tcpType !== undefined ? { tcptype: c.tcpType } : {}),
      })),
      endOfCandidates: 'end-of-candidates',
      rtcpMux: 'rtcp-mux',
    },
    session: { icelite: 'ice-lite', groups: [{ type: 'BUNDLE', mids: l.mid }], msidSemantic: { semantic: 'WMS', token: '*' } },
  };
}
