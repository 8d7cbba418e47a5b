/**
 * X-Twilio-Signature against Twilio's own helper library: the signature an
 * application computes with `twilio.getExpectedTwilioSignature` and accepts
 * with `twilio.validateRequest` is the one Herald sends.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import twilio from 'twilio';
import { twilioSignature } from '../../../src/instructions/signature.js';

const TOKEN = '0123456789abcdef0123456789abcdef';

describe('twilioSignature', () => {
  const params = {
    CallSid: 'CA0123456789abcdef0123456789abcdef',
    From: 'client:alice',
    To: '+15550001111',
    Caller: 'client:alice',
    ApiVersion: '2010-04-01',
    Note: 'spaces & symbols = ünïcödé ✓',
  };

  it('POST: URL followed by the sorted parameters, as Twilio signs', () => {
    const url = 'https://app.example.com/voice?tenant=7';
    const ours = twilioSignature(TOKEN, url, params);
    expect(ours).to.equal(twilio.getExpectedTwilioSignature(TOKEN, url, params));
    expect(twilio.validateRequest(TOKEN, ours, url, params)).to.equal(true);
  });

  it('GET: the URL with its query, nothing appended', () => {
    const url = `http://127.0.0.1:3000/voice?${new URLSearchParams(params).toString()}`;
    const ours = twilioSignature(TOKEN, url);
    expect(ours).to.equal(twilio.getExpectedTwilioSignature(TOKEN, url, {}));
    expect(twilio.validateRequest(TOKEN, ours, url, {})).to.equal(true);
  });

  it('fails validation with another token, another URL or another parameter', () => {
    const url = 'https://app.example.com/voice';
    const ours = twilioSignature(TOKEN, url, params);
    expect(twilio.validateRequest('ffffffffffffffffffffffffffffffff', ours, url, params)).to.equal(
      false,
    );
    expect(twilio.validateRequest(TOKEN, ours, 'https://app.example.com/other', params)).to.equal(
      false,
    );
    expect(twilio.validateRequest(TOKEN, ours, url, { ...params, To: '+15550002222' })).to.equal(
      false,
    );
  });

  it('matches Twilio for arbitrary parameters (names sorted by code unit, not locale)', () => {
    fc.assert(
      fc.property(
        fc.webUrl({ withQueryParameters: true }),
        fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), fc.string({ maxLength: 20 }), {
          maxKeys: 8,
        }),
        (url, p) => {
          expect(twilioSignature(TOKEN, url, p)).to.equal(
            twilio.getExpectedTwilioSignature(TOKEN, url, p),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});
