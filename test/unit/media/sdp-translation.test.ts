/**
 * Herald's SDP translation (src/media/sdp) on offers captured from real
 * peers: sipp 3.6 (its uac_pcap scenario), baresip 1.0, linphone 5.1 (an
 * IPv6 offer with static payload types and no a=rtpmap for them), and
 * Chromium 156 (a WebRTC offer, as SIP.js in a browser sends it). See
 * test/fixtures/sdp/. What Herald writes back is read with sdp-transform, as
 * a peer would read it.
 */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'sdp-transform';
import { parseAudioDescription } from '../../../src/media/sdp/audio-description.js';
import { asNumberedBy, bridgeCodecs, bridgeSdpCodecs, carriedCodecs, consumerRtpCapabilities, fmtpParameters, keptBy, producerRtpParameters, routerCodecsFor } from '../../../src/media/sdp/codec-match.js';
import { SdpError } from '../../../src/media/sdp/sdp-error.js';
import { SdpOrigin } from '../../../src/media/sdp/sdp-origin.js';
import { webRtcAttributes } from '../../../src/media/sdp/webrtc-attributes.js';
import { writeAudioDescription } from '../../../src/media/sdp/write-audio-description.js';

const fixture = (name: string) => readFileSync(resolve(import.meta.dirname, '..', '..', 'fixtures', 'sdp', name));
const names = (codecs: ReadonlyArray<{ name: string; clockRate: number; payloadType: number }>) => codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate}`);

describe('SDP translation (src/media/sdp)', () => {
  describe('reading offers of real peers', () => {
    it('sipp 3.6 uac_pcap: PCMA and telephone-event at 127.0.0.1, RTCP on the next port, sendrecv by default', () => {
      const d = parseAudioDescription(fixture('sipp-3.6-uac-pcap-offer.sdp'));
      expect(d).to.include({ profile: 'rtp', address: '127.0.0.1', addressFamily: 4, port: 6004, rtcpMux: false, rtcpPort: 6005, direction: 'sendrecv', ptime: null, audioIndex: 0 });
      expect(names(d.codecs)).to.deep.equal(['8 PCMA/8000', '101 telephone-event/8000']);
      expect(d.codecs[1]!.fmtp).to.equal('0-11,16');
      expect(d.webrtc).to.equal(null);
    });

    it('baresip 1.0: opus stereo with its fmtp, G722, G.711, ptime 20', () => {
      const d = parseAudioDescription(fixture('baresip-1.0-offer.sdp'));
      expect(d).to.include({ address: '192.0.2.2', port: 10666, rtcpMux: false, direction: 'sendrecv', ptime: 20 });
      expect(names(d.codecs)).to.deep.equal(['96 opus/48000', '9 G722/8000', '0 PCMU/8000', '8 PCMA/8000', '101 telephone-event/8000']);
      expect(d.codecs[0]).to.include({ channels: 2, fmtp: 'stereo=1;sprop-stereo=1' });
    });

    it('linphone 5.1: IPv6, static payload types without a=rtpmap (0, 8, 18) named from RFC 3551', () => {
      const d = parseAudioDescription(fixture('linphone-5.1-offer.sdp'));
      expect(d).to.include({ address: 'fd00::2', addressFamily: 6, port: 7078, rtcpPort: 7079 });
      expect(names(d.codecs)).to.deep.equal([
        '96 opus/48000',
        '97 speex/16000',
        '98 speex/8000',
        '0 PCMU/8000',
        '8 PCMA/8000',
        '18 G729/8000',
        '99 telephone-event/48000',
        '100 telephone-event/16000',
        '101 telephone-event/8000',
      ]);
      expect(d.codecs.find((c) => c.payloadType === 18)!.fmtp).to.equal('annexb=yes');
    });

    it('Chromium 156 (WebRTC): profile webrtc, rtcp-mux, ICE and DTLS parameters, mid and SSRC for the WebRTC leg', () => {
      const d = parseAudioDescription(fixture('chromium-156-webrtc-offer.sdp'));
      // c=0.0.0.0 and port 9 are what ICE agents write (RFC 8839): not the RFC 2543 hold of plain RTP.
      expect(d).to.include({ profile: 'webrtc', protocol: 'UDP/TLS/RTP/SAVPF', address: '0.0.0.0', port: 9, rtcpMux: true, rtcpPort: 9, direction: 'sendrecv' });
      expect(names(d.codecs).slice(0, 5)).to.deep.equal(['111 opus/48000', '63 red/48000', '9 G722/8000', '0 PCMU/8000', '8 PCMA/8000']);
      expect(d.webrtc).to.deep.include({ iceUfrag: '/11K', icePwd: 'kgf0E3iegl0vH91AVunQhG2P', setup: 'actpass' });
      expect(d.webrtc!.fingerprint!.algorithm).to.equal('sha-256');
      // What the WebRTC leg needs besides: the mid an answer repeats, the SSRC its Producer takes.
      expect(d.webrtc).to.include({ mid: '0', ssrc: 2413881366 });
    });

    it('refuses with SdpError (488) what it cannot use: no SDP, no audio, SDES-SRTP, no payload type', () => {
      const bad: Array<[string, RegExp]> = [
        ['hello', /not an SDP/],
        ['v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n', /no audio stream/],
        ['v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n', /no audio stream/],
        ['v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/SAVP 0\r\n', /RTP\/SAVP is not supported/],
        ['v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n', /no connection address/],
        ['v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/AVP 96\r\n', /lists no payload type/],
      ];
      for (const [sdp, reason] of bad) {
        expect(() => parseAudioDescription(sdp), sdp).to.throw(SdpError, reason);
      }
    });

    it('reads hold: a=sendonly, a=inactive, and the RFC 2543 c=0.0.0.0', () => {
      const sdp = (extra: string, address = '10.0.0.5') => `v=0\r\no=- 1 2 IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\n${extra}`;
      expect(parseAudioDescription(sdp('a=sendonly\r\n')).direction).to.equal('sendonly');
      expect(parseAudioDescription(sdp('a=inactive\r\n')).direction).to.equal('inactive');
      expect(parseAudioDescription(sdp('', '0.0.0.0')).direction).to.equal('sendonly');
      expect(parseAudioDescription(sdp('a=recvonly\r\n', '0.0.0.0')).direction).to.equal('inactive');
    });
  });

  describe('codecs between legs (no transcoding)', () => {
    it('carries the offered codecs the router has, in the offer\'s order, with the offer\'s payload types', () => {
      const carried = carriedCodecs(parseAudioDescription(fixture('baresip-1.0-offer.sdp')).codecs);
      expect(names(carried)).to.deep.equal(['96 opus/48000', '0 PCMU/8000', '8 PCMA/8000', '101 telephone-event/8000']);
      expect(routerCodecsFor(carried)).to.deep.equal([
        { kind: 'audio', mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 96 },
        { kind: 'audio', mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 },
        { kind: 'audio', mimeType: 'audio/PCMA', clockRate: 8000, preferredPayloadType: 8 },
        { kind: 'audio', mimeType: 'audio/telephone-event', clockRate: 8000, preferredPayloadType: 101 },
      ]);
    });

    it('telephone-event is carried only at the clock rate of a carried audio codec, and never alone', () => {
      // linphone offers telephone-event at 48, 16 and 8 kHz; 16 kHz has no carried audio codec (no G.722 here).
      const carried = carriedCodecs(parseAudioDescription(fixture('linphone-5.1-offer.sdp')).codecs);
      expect(names(carried).filter((n) => n.includes('telephone-event'))).to.deep.equal(['99 telephone-event/48000', '101 telephone-event/8000']);
      const onlyEvents = parseAudioDescription('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n');
      expect(() => carriedCodecs(onlyEvents.codecs)).to.throw(SdpError, /no offered audio codec can be carried/);
    });

    it('the bridge carries telephone-event when both legs take it at the audio codec\'s clock rate, numbered per leg', () => {
      const offered = carriedCodecs(parseAudioDescription(fixture('linphone-5.1-offer.sdp')).codecs);
      const answer = (body: string) => parseAudioDescription(`v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n${body}`).codecs;
      const pcma = answer('m=audio 5000 RTP/AVP 8 98\r\na=rtpmap:98 telephone-event/8000\r\na=fmtp:98 0-15\r\n');
      const codecs = bridgeCodecs(offered, pcma);
      expect(codecs.audio).to.include({ name: 'PCMA', payloadType: 8 });
      expect(codecs.dtmf).to.include({ name: 'telephone-event', clockRate: 8000, payloadType: 101 });
      expect(names(bridgeSdpCodecs(asNumberedBy(codecs, pcma)))).to.deep.equal(['8 PCMA/8000', '98 telephone-event/8000']);
      // Opus answered with only 8 kHz events: no events for this bridge (48 kHz would be needed).
      const opus = bridgeCodecs(offered, answer('m=audio 5000 RTP/AVP 96 101\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n'));
      expect(opus.dtmf).to.equal(undefined);
      // A callee that answers only telephone-event has no audio in common.
      expect(() => bridgeCodecs(offered, answer('m=audio 5000 RTP/AVP 101\r\na=rtpmap:101 telephone-event/8000\r\n'))).to.throw(SdpError, /no audio codec in common/);
      // A callee after the caller's codecs were fixed keeps the events only if it takes them.
      expect(keptBy(codecs, answer('m=audio 5000 RTP/AVP 8\r\n'))).to.deep.equal({ audio: codecs.audio });
      expect(keptBy(codecs, pcma)).to.equal(codecs);
    });

    it('an offer with nothing the router carries is a 488', () => {
      const gsm = parseAudioDescription('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=audio 5000 RTP/AVP 3 9 101\r\na=rtpmap:101 telephone-event/8000\r\n');
      expect(() => carriedCodecs(gsm.codecs)).to.throw(SdpError, /no offered audio codec can be carried \(offered GSM\/8000 G722\/8000 telephone-event\/8000/);
    });

    it('the bridge takes the answerer\'s first codec that was offered, numbered as offered; none in common is a 488', () => {
      const offered = carriedCodecs(parseAudioDescription(fixture('linphone-5.1-offer.sdp')).codecs);
      const answer = (body: string) => parseAudioDescription(`v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\n${body}`).codecs;
      expect(bridgeCodecs(offered, answer('m=audio 5000 RTP/AVP 8 0\r\n')).audio).to.include({ name: 'PCMA', payloadType: 8 });
      // The callee renumbered opus: the bridge keeps Herald's (the offer's) number, the callee's view keeps its own.
      const renumbered = answer('m=audio 5000 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n');
      const codecs = bridgeCodecs(offered, renumbered);
      expect(codecs.audio).to.include({ name: 'opus', payloadType: 96 });
      expect(asNumberedBy(codecs, renumbered).audio.payloadType).to.equal(111);
      expect(() => bridgeCodecs(offered, answer('m=audio 5000 RTP/AVP 9\r\n'))).to.throw(SdpError, /no audio codec in common/);
    });

    it('mediasoup parameters: the Producer in the sender\'s numbering with fmtp as parameters, the Consumer limited to the bridge codec', () => {
      const opus = { payloadType: 111, name: 'opus', clockRate: 48000, channels: 2, fmtp: 'minptime=10;useinbandfec=1' };
      expect(producerRtpParameters({ audio: opus }, 'cname-1')).to.deep.equal({
        codecs: [{ mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 } }],
        encodings: [{}],
        rtcp: { cname: 'cname-1', reducedSize: false },
      });
      const router = { codecs: [{ kind: 'audio' as const, mimeType: 'audio/opus', clockRate: 48000, channels: 2, preferredPayloadType: 96 }, { kind: 'audio' as const, mimeType: 'audio/PCMU', clockRate: 8000, preferredPayloadType: 0 }] };
      expect(consumerRtpCapabilities(router, { audio: opus }).codecs).to.deep.equal([router.codecs[0]]);
      const dtmf = { payloadType: 101, name: 'telephone-event', clockRate: 8000, channels: 1, fmtp: '0-16' };
      const pcmu = { payloadType: 0, name: 'PCMU', clockRate: 8000, channels: 1, fmtp: '' };
      expect(producerRtpParameters({ audio: pcmu, dtmf }, 'c').codecs.map((c) => c.mimeType)).to.deep.equal(['audio/PCMU', 'audio/telephone-event']);
      const withEvents = { codecs: [...router.codecs, { kind: 'audio' as const, mimeType: 'audio/telephone-event', clockRate: 8000, preferredPayloadType: 101 }] };
      expect(consumerRtpCapabilities(withEvents, { audio: pcmu, dtmf }).codecs!.map((c) => c.mimeType)).to.deep.equal(['audio/PCMU', 'audio/telephone-event']);
      expect(fmtpParameters('0-15')).to.deep.equal({});
    });
  });

  describe('writing Herald\'s SDP', () => {
    const local = { address: '203.0.113.7', port: 40002, rtcpPort: 40003, codecs: [{ payloadType: 8, name: 'PCMA', clockRate: 8000, channels: 1, fmtp: '' }], direction: 'sendrecv' as const, ptime: 20 };

    it('names Herald\'s address and ports, the codecs and the direction; reads back as it was written', () => {
      const body = writeAudioDescription(new SdpOrigin(), local).toString();
      expect(body.split('\r\n').at(-1)).to.equal('');
      const d = parseAudioDescription(body);
      expect(d).to.include({ profile: 'rtp', address: '203.0.113.7', port: 40002, rtcpMux: false, rtcpPort: 40003, direction: 'sendrecv', ptime: 20 });
      expect(names(d.codecs)).to.deep.equal(['8 PCMA/8000']);
      expect(parse(body).origin).to.include({ username: 'herald', address: '203.0.113.7' });
    });

    it('a browser leg (webrtc-attributes.ts): UDP/TLS/RTP/SAVPF, ice-lite, its candidate, fingerprint, setup, mid and BUNDLE; reads back as a WebRTC description', () => {
      const webrtc = webRtcAttributes({
        ice: { usernameFragment: 'herald-ufrag', password: 'herald-password', iceLite: true },
        candidates: [{ foundation: 'udpcandidate', priority: 1076302079, ip: '0.0.0.0', address: '203.0.113.7', protocol: 'udp', port: 40010, type: 'host' }],
        fingerprint: { algorithm: 'sha-256', value: 'AB:CD' },
        setup: 'passive',
        mid: 'audio0',
      });
      const body = writeAudioDescription(new SdpOrigin(), { ...local, port: 40010, rtcpPort: null, webrtc }).toString();
      expect(parse(body)).to.include({ icelite: 'ice-lite' });
      expect(parse(body).groups).to.deep.equal([{ type: 'BUNDLE', mids: 'audio0' }]);
      const d = parseAudioDescription(body);
      expect(d).to.include({ profile: 'webrtc', protocol: 'UDP/TLS/RTP/SAVPF', address: '203.0.113.7', port: 40010, rtcpMux: true, direction: 'sendrecv' });
      expect(d.webrtc).to.deep.include({ iceUfrag: 'herald-ufrag', icePwd: 'herald-password', setup: 'passive', mid: 'audio0', ssrc: null, fingerprint: { algorithm: 'sha-256', value: 'AB:CD' } });
      expect(d.webrtc!.candidates).to.deep.equal([{ ip: '203.0.113.7', port: 40010, protocol: 'udp', type: 'host', priority: 1076302079 }]);
      expect(body).to.contain('a=end-of-candidates\r\n');
    });

    it('with rtcp-mux: a=rtcp-mux and no a=rtcp', () => {
      const body = writeAudioDescription(new SdpOrigin(), { ...local, rtcpPort: null }).toString();
      expect(body).to.contain('a=rtcp-mux\r\n');
      expect(body).to.not.contain('a=rtcp:');
    });

    it('an answer repeats the offer\'s other m= lines with port 0, in order (RFC 3264 §6)', () => {
      const offer = parseAudioDescription('v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 1.2.3.4\r\nt=0 0\r\nm=video 5002 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\nm=audio 5000 RTP/AVP 0\r\n');
      const body = writeAudioDescription(new SdpOrigin(), { ...local, mirror: { lines: offer.lines, audioIndex: offer.audioIndex } }).toString();
      const media = parse(body).media;
      expect(media.map((m) => [m.type, m.port])).to.deep.equal([
        ['video', 0],
        ['audio', 40002],
      ]);
    });

    it('a rejected m= line keeps its a=mid (a browser matches the answer\'s lines by mid)', () => {
      const offer = parseAudioDescription(
        'v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\na=group:BUNDLE a v\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:v\r\na=rtpmap:96 VP8/90000\r\n',
      );
      const body = writeAudioDescription(new SdpOrigin(), { ...local, mirror: { lines: offer.lines, audioIndex: offer.audioIndex } }).toString();
      const video = parse(body).media[1]!;
      expect([video.type, video.port, video.mid]).to.deep.equal(['video', 0, 'v']);
    });

    it('the o= version goes up by one when the description changes and stays when it does not (RFC 3264 §8)', () => {
      const origin = new SdpOrigin();
      const version = (direction: 'sendrecv' | 'sendonly') => parse(writeAudioDescription(origin, { ...local, direction }).toString()).origin;
      const first = version('sendrecv');
      expect(version('sendrecv')).to.deep.equal(first);
      expect(version('sendonly').sessionVersion).to.equal(first.sessionVersion + 1);
      expect(version('sendonly').sessionVersion).to.equal(first.sessionVersion + 1);
      expect(version('sendrecv').sessionId).to.equal(first.sessionId);
    });
  });
});
