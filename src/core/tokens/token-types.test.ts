import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLIENT_ASSERTION_TYPE, GRANT_TYPE, TOKEN_TYPE } from './token-types.ts';

// The wire names as their specifications spell them: tests elsewhere use the constants, so a typo in one
// would otherwise pass everywhere and break every real client.
test('token, grant and assertion type names are the ones the RFCs and drafts define', () => {
  assert.equal(TOKEN_TYPE.idToken, 'urn:ietf:params:oauth:token-type:id_token'); // RFC 8693 §3
  assert.equal(TOKEN_TYPE.jwt, 'urn:ietf:params:oauth:token-type:jwt'); // RFC 8693 §3
  assert.equal(TOKEN_TYPE.idJag, 'urn:ietf:params:oauth:token-type:id-jag'); // draft ID-JAG
  assert.equal(GRANT_TYPE.tokenExchange, 'urn:ietf:params:oauth:grant-type:token-exchange'); // RFC 8693 §2.1
  assert.equal(GRANT_TYPE.jwtBearer, 'urn:ietf:params:oauth:grant-type:jwt-bearer'); // RFC 7523 §2.1
  assert.equal(GRANT_TYPE.clientCredentials, 'client_credentials'); // RFC 6749 §4.4
  assert.equal(CLIENT_ASSERTION_TYPE, 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'); // RFC 7523 §2.2
});
