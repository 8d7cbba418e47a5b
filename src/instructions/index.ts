/**
 * Instructions: asking the application what to do with a call (webhooks,
 * Twilio-compatible parameters and signatures) and reading its TwiML answer.
 * The call engine imports from here.
 */
export {
  API_VERSION,
  callParameters,
  dialActionParameters,
  statusCallbackParameters,
  type CallDirection,
  type CallerParty,
  type CallParameterInput,
  type CallParameters,
  type CallStatus,
  type DialCallStatus,
  type DialOutcome,
  type StatusDetails,
  type StatusEvent,
} from './call-parameters.js';
export {
  InstructionsClient,
  resolveUrl,
  safeReason,
  type InstructionsClientOptions,
  type InstructionsResult,
  type InstructionsSource,
  type StatusApplication,
  type VoiceApplication,
} from './instructions-client.js';
export { SIGNATURE_HEADER, twilioSignature } from './signature.js';
export { MAX_DIAL_NOUNS } from './twiml-dial.js';
export { MAX_TWIML_CHARS, MAX_TWIML_DEPTH, parseTwiml } from './twiml-parser.js';
export type {
  ClientNoun,
  DialNoun,
  DialVerb,
  HangupVerb,
  HttpMethod,
  NumberNoun,
  PauseVerb,
  PlayVerb,
  RedirectVerb,
  RejectVerb,
  SayVerb,
  SipNoun,
  TwimlErrorCode,
  TwimlResult,
  Verb,
} from './twiml-types.js';
