/**
 * The demo phone in the browser (CONTRACT §7): gets a token from
 * `POST /demo/token`, registers over Herald's SIP WebSocket with it, places
 * and answers calls with SIP.js, and lists the account's clients.
 *
 * Scripts drive it like people do: `?identity=NAME` registers at once,
 * `&autoanswer=1` answers incoming calls, `#state` shows exactly one of
 * offline, registered, ringing, in-call. `window.heraldDemo.stats()` reports
 * the audio packets received and sent and where the media goes (the selected
 * ICE pair's remote candidate), so a test can see media flowing through Herald;
 * `heraldDemo.dtmf('123')` sends DTMF as RFC 4733 events.
 *
 * Bundled by esbuild (scripts/build-demo-phone.mjs); not part of the Node build.
 */
import { Invitation, Inviter, Registerer, RegistererState, SessionState, UserAgent, type Session } from 'sip.js';
import type { SessionDescriptionHandler } from 'sip.js/lib/platform/web/session-description-handler/session-description-handler.js';

type PhoneState = 'offline' | 'registered' | 'ringing' | 'in-call';

interface ClientEntry {
  identity: string;
  status: string;
}

interface AudioStats {
  packetsReceived: number;
  packetsSent: number;
  /** Where the call's media goes: the remote candidate of the selected ICE pair (Herald's media port when anchored). */
  remote: { address: string; port: number; protocol: string } | null;
  /** The codec of the audio received (`audio/opus`, `audio/PCMA`…), '' before any. */
  codec: string;
}

interface StatsEntry {
  id: string;
  type: string;
  kind?: string;
  packetsReceived?: number;
  packetsSent?: number;
  selectedCandidatePairId?: string;
  remoteCandidateId?: string;
  address?: string;
  port?: number;
  protocol?: string;
  codecId?: string;
  mimeType?: string;
}

const byId = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
};

const stateEl = byId<HTMLSpanElement>('state');
const errorEl = byId<HTMLParagraphElement>('error');
const toEl = byId<HTMLInputElement>('to');
const remoteAudio = byId<HTMLAudioElement>('remote');
const query = new URLSearchParams(location.search);
const autoAnswer = query.get('autoanswer') === '1';
const wsPort = document.body.dataset.wsPort ?? '';
const sipHost = location.hostname;

let ua: UserAgent | null = null;
let registered = false;
let token = '';
let session: Session | null = null;

function show(state: PhoneState): void {
  stateEl.textContent = state;
}

function showError(message: string): void {
  errorEl.textContent = message;
}

/** The state follows the session when there is one, else the registration. */
function refresh(): void {
  if (session !== null) {
    if (session.state === SessionState.Established) return show('in-call');
    if (session.state === SessionState.Initial || session.state === SessionState.Establishing) return show('ringing');
  }
  show(registered ? 'registered' : 'offline');
}

function playRemote(s: Session): void {
  const sdh = s.sessionDescriptionHandler as SessionDescriptionHandler | undefined;
  if (sdh === undefined) return;
  remoteAudio.srcObject = sdh.remoteMediaStream;
  remoteAudio.play().catch(() => undefined); // autoplay may need a click; the call goes on regardless
}

function track(s: Session): void {
  session = s;
  s.stateChange.addListener((state) => {
    if (state === SessionState.Established) playRemote(s);
    if (state === SessionState.Terminated && session === s) {
      session = null;
      remoteAudio.srcObject = null;
    }
    refresh();
  });
  refresh();
}

async function fetchToken(identity: string): Promise<string> {
  const res = await fetch('/demo/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ identity }) });
  const body = (await res.json()) as { token?: string; message?: string };
  if (!res.ok || body.token === undefined) throw new Error(body.message ?? `token request failed: ${res.status}`);
  return body.token;
}

async function register(identity: string): Promise<void> {
  if (wsPort === '') throw new Error('Herald has no SIP WebSocket listener');
  token = await fetchToken(identity);
  const uri = UserAgent.makeURI(`sip:${identity}@${sipHost}`);
  if (uri === undefined) throw new Error(`not a usable name: ${identity}`);
  ua = new UserAgent({
    uri,
    transportOptions: { server: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${sipHost}:${wsPort}` },
    logLevel: 'warn',
    // No STUN: the demo runs where the browsers reach each other (or Herald's media) directly; a STUN server that cannot be reached only delays every call.
    sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [] }, iceGatheringTimeout: 2000 },
    delegate: {
      onInvite: (invitation: Invitation) => {
        if (session !== null) {
          void invitation.reject({ statusCode: 486 });
          return;
        }
        track(invitation);
        if (autoAnswer) answer();
      },
      onDisconnect: () => {
        registered = false;
        refresh();
      },
    },
  });
  await ua.start();
  const registerer = new Registerer(ua, { extraHeaders: [`Authorization: Bearer ${token}`], expires: 600 });
  registerer.stateChange.addListener((state) => {
    registered = state === RegistererState.Registered;
    refresh();
  });
  await registerer.register({
    requestDelegate: { onReject: (r) => showError(`REGISTER rejected: ${r.message.statusCode ?? ''} ${r.message.reasonPhrase ?? ''}`) },
  });
  byId<HTMLSpanElement>('who').textContent = `as ${identity}`;
  byId<HTMLInputElement>('identity').value = identity;
}

const MEDIA = { constraints: { audio: true, video: false } };

function call(): void {
  const to = toEl.value.trim();
  if (ua === null || session !== null || to === '') return;
  const target = UserAgent.makeURI(`sip:${encodeURIComponent(to)}@${sipHost}`);
  if (target === undefined) return showError(`cannot call ${to}`);
  const inviter = new Inviter(ua, target, { extraHeaders: [`Authorization: Bearer ${token}`], sessionDescriptionHandlerOptions: MEDIA });
  track(inviter);
  inviter
    .invite({ requestDelegate: { onReject: (r) => showError(`call failed: ${r.message.statusCode ?? ''} ${r.message.reasonPhrase ?? ''}`) } })
    .catch((err: unknown) => showError(String(err)));
}

function answer(): void {
  if (session instanceof Invitation && session.state === SessionState.Initial) {
    session.accept({ sessionDescriptionHandlerOptions: MEDIA }).catch((err: unknown) => showError(String(err)));
  }
}

function hangup(): void {
  const s = session;
  if (s === null) return;
  const ending =
    s.state === SessionState.Established ? s.bye()
    : s instanceof Inviter ? s.cancel()
    : s instanceof Invitation ? s.reject()
    : Promise.resolve();
  ending.catch((err: unknown) => showError(String(err)));
}

/** Sends DTMF in the call's audio stream as RFC 4733 telephone-events (RTCDTMFSender); false when there is no call to send them in. */
function dtmf(tones: string): boolean {
  const sdh = session?.sessionDescriptionHandler as SessionDescriptionHandler | undefined;
  return sdh?.sendDtmf(tones) ?? false;
}

async function stats(): Promise<AudioStats> {
  const sdh = session?.sessionDescriptionHandler as SessionDescriptionHandler | undefined;
  const out: AudioStats = { packetsReceived: 0, packetsSent: 0, remote: null, codec: '' };
  const pc = sdh?.peerConnection;
  if (pc === undefined) return out;
  const entries = new Map<string, StatsEntry>();
  (await pc.getStats()).forEach((entry: StatsEntry) => entries.set(entry.id, entry));
  for (const entry of entries.values()) {
    if (entry.type === 'transport' && entry.selectedCandidatePairId !== undefined) {
      const candidate = entries.get(entries.get(entry.selectedCandidatePairId)?.remoteCandidateId ?? '');
      if (candidate?.address !== undefined && candidate.port !== undefined) out.remote = { address: candidate.address, port: candidate.port, protocol: candidate.protocol ?? '' };
    }
    if (entry.kind !== 'audio') continue;
    if (entry.type === 'inbound-rtp') {
      out.packetsReceived += entry.packetsReceived ?? 0;
      out.codec = entries.get(entry.codecId ?? '')?.mimeType ?? out.codec;
    }
    if (entry.type === 'outbound-rtp') out.packetsSent += entry.packetsSent ?? 0;
  }
  return out;
}

/** Presence is polled from `/demo/clients`: offline clients cannot be enumerated, so a SUBSCRIBE per name could not show newcomers. */
async function refreshClients(): Promise<void> {
  const list = byId<HTMLUListElement>('clients');
  try {
    const res = await fetch('/demo/clients');
    const { clients } = (await res.json()) as { clients: ClientEntry[] };
    list.replaceChildren(
      ...clients.map((c) => {
        const li = document.createElement('li');
        li.className = c.status;
        li.textContent = `${c.identity} — ${c.status}`;
        li.addEventListener('click', () => (toEl.value = c.identity));
        return li;
      }),
    );
  } catch {
    // The server went away: keep the last list, the next poll tries again.
  }
}

function start(identity: string): void {
  if (ua !== null) return;
  showError('');
  register(identity).catch((err: unknown) => showError(err instanceof Error ? err.message : String(err)));
}

byId<HTMLButtonElement>('call').addEventListener('click', call);
byId<HTMLButtonElement>('answer').addEventListener('click', answer);
byId<HTMLButtonElement>('hangup').addEventListener('click', hangup);
byId<HTMLFormElement>('login').addEventListener('submit', (e) => {
  e.preventDefault();
  start(byId<HTMLInputElement>('identity').value.trim());
});

declare global {
  interface Window {
    heraldDemo: { stats: () => Promise<AudioStats>; state: () => string; dtmf: (tones: string) => boolean };
  }
}
window.heraldDemo = { stats, state: () => stateEl.textContent ?? '', dtmf };

show('offline');
const initial = query.get('identity');
if (initial !== null && initial !== '') start(initial);
void refreshClients();
setInterval(() => void refreshClients(), 2000);
