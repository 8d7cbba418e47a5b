#!/usr/bin/env python3
"""Herald's own changes to mediasoup's worker (on top of use-system-deps.py,
which only makes the worker build from Debian packages). build.sh runs it on
the temporary copy of the worker it builds; each change must apply exactly or
the build stops, so a new mediasoup version cannot silently lose one.

1. The "no suitable Producer" warning names the transport. Herald learns a
   plain-RTP peer's SSRC from that warning (src/media/ssrc-latch.ts); without
   the transport every waiting leg of the worker had to try every reported
   SSRC, which is quadratic when many calls start at once.
2. Consumers forward telephone-event (RFC 4733 DTMF). mediasoup forwards only
   "media" codecs and drops the complementary telephone-event, so DTMF sent
   in-band by RFC 4733 never reached the other leg. Its packets share the
   audio's SSRC and clock, so the audio stream carries them as they are.
3. A marker string, `herald-worker-patches:N`, that ensure-worker.mjs looks
   for in a binary to tell a patched worker from an unpatched one. Raise
   PATCH_LEVEL (here and in ensure-worker.mjs) whenever a patch changes.

Usage: herald-patches.py path/to/mediasoup/worker
"""
import pathlib
import sys

PATCH_LEVEL = 1

worker = pathlib.Path(sys.argv[1])


def patch(relative, old, new):
    f = worker / relative
    text = f.read_text()
    if text.count(old) != 1:
        sys.exit(f'herald-patches: {relative}: the text to patch was not found exactly once; '
                 'mediasoup changed and this patch must be redone')
    f.write_text(text.replace(old, new))
    print(f'herald-patches: patched {relative}')


patch('src/RTC/Transport.cpp',
      '''"no suitable Producer for received RTP packet [ssrc:%" PRIu32 ", payloadType:%" PRIu8 "]",
			  packet->GetSsrc(),
			  packet->GetPayloadType());''',
      '''"no suitable Producer for received RTP packet [ssrc:%" PRIu32 ", payloadType:%" PRIu8 ", transportId:%s]",
			  packet->GetSsrc(),
			  packet->GetPayloadType(),
			  this->id.c_str());''')

patch('src/RTC/Consumer.cpp',
      '''			if (codec.mimeType.IsMediaCodec())
			{
				this->supportedCodecPayloadTypes[codec.payloadType] = true;''',
      '''			if (codec.mimeType.IsMediaCodec() || codec.mimeType.subtype == RTC::RtpCodecMimeType::Subtype::TELEPHONE_EVENT)
			{
				this->supportedCodecPayloadTypes[codec.payloadType] = true;''')

main = worker / 'src' / 'main.cpp'
main.write_text(main.read_text() + f'''
// Herald's patch level (scripts/mediasoup-worker/herald-patches.py), found in the binary by ensure-worker.mjs.
extern "C" __attribute__((used)) const char herald_worker_patches[] = "herald-worker-patches:{PATCH_LEVEL}";
''')
print('herald-patches: marker added to src/main.cpp')
