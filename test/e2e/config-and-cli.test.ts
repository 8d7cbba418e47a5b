/** A bad configuration stops the start with a message naming file, path and reason; `herald token` mints CONTRACT §3 tokens. */
import { expect } from 'chai';
import jwt from 'jsonwebtoken';
import { join, resolve } from 'node:path';
import { writeConfig } from '../helpers/herald-process.js';
import { run } from '../helpers/run.js';

const HERALD = resolve(import.meta.dirname, '..', '..', 'bin', 'herald.js');

describe('configuration errors and the herald CLI', function () {
  it('refuses a config with a bad account sid, naming the file and the path', async () => {
    const file = writeConfig('accounts:\n  - sid: ACnothex\n    authToken: 0123456789abcdef0123\n');
    const r = await run(process.execPath, [HERALD, 'serve', '--config', file]);
    expect(r.code).to.equal(78);
    expect(r.stderr).to.include(file).and.include('accounts[0].sid').and.match(/32 lower-case hex/);
  });

  it('refuses a number pointing at an unknown application', async () => {
    const file = writeConfig(
      [
        'accounts:',
        '  - sid: AC0123456789abcdef0123456789abcdef',
        '    authToken: 0123456789abcdef0123456789abcdef',
        '    numbers:',
        '      - { number: "+15550001111", application: AP0123456789abcdef0123456789abcdef }',
      ].join('\n'),
    );
    const r = await run(process.execPath, [HERALD, 'serve', '--config', file]);
    expect(r.code).to.equal(78);
    expect(r.stderr).to.include('accounts[0].numbers[0].application');
  });

  it('refuses YAML that does not parse and a missing file', async () => {
    const bad = await run(process.execPath, [HERALD, 'serve', '--config', writeConfig('accounts: [\n')]);
    expect(bad.code).to.equal(78);
    expect(bad.stderr).to.match(/not valid YAML/);
    const missing = await run(process.execPath, [HERALD, 'serve', '--config', join('/nonexistent', 'x.yaml')]);
    expect(missing.code).to.equal(78);
    expect(missing.stderr).to.match(/cannot read config file/);
  });

  it('mints a Twilio-format access token from the default config', async () => {
    const r = await run(process.execPath, [HERALD, 'token', '--identity', 'alice', '--incoming', '--ttl', '600']);
    expect(r.code, r.stderr).to.equal(0);
    const token = r.stdout.trim();
    const decoded = jwt.verify(token, 'demo-api-key-secret-change-me', { algorithms: ['HS256'], complete: true });
    expect(decoded.header).to.include({ alg: 'HS256', typ: 'JWT', cty: 'twilio-fpa;v=1' });
    const claims = decoded.payload as jwt.JwtPayload;
    expect(claims.iss).to.equal('SK00000000000000000000000000de0001');
    expect(claims.sub).to.equal('AC00000000000000000000000000de0001');
    expect(claims.grants).to.deep.equal({ identity: 'alice', voice: { incoming: { allow: true } } });
    expect(claims.exp! - claims.iat!).to.equal(600);
  });
});
