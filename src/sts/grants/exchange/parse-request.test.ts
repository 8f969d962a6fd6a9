import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contextWith } from '../../../../test/support/exchange-context.ts';
import { TOKEN_TYPE } from '../types.ts';
import { checkSubjectType, parseRequest } from './parse-request.ts';

const base = {
  subject_token_type: TOKEN_TYPE.warrant,
  subject_token: 'a.b.c',
  audience: 'https://tool.example/api',
};

describe('parseRequest', () => {
  test('takes the subject token, its type and the audience', () => {
    const ctx = contextWith({}, { ...base, requested_token_type: TOKEN_TYPE.warrant });
    parseRequest(ctx);
    assert.deepEqual(
      [ctx.subjectType, ctx.subjectToken, ctx.audience],
      [TOKEN_TYPE.warrant, 'a.b.c', base.audience],
    );
  });

  test('each required parameter missing is malformed, in order: subject type, subject token, audience', () => {
    for (const missing of ['subject_token_type', 'subject_token', 'audience']) {
      const { [missing as keyof typeof base]: _gone, ...rest } = base;
      assert.throws(() => parseRequest(contextWith({}, rest)), {
        error: 'invalid_request',
        code: 'WARRANT_REQUEST_MALFORMED',
        message: `parameter ${missing} is missing`,
      });
    }
  });

  test('only warrants can be requested, and the recipient is named by audience, not resource', () => {
    assert.throws(() => parseRequest(contextWith({}, { ...base, requested_token_type: TOKEN_TYPE.jwt })), {
      error: 'invalid_request',
      code: 'WARRANT_TOKEN_TYPE_UNSUPPORTED',
    });
    assert.throws(() => parseRequest(contextWith({}, { ...base, resource: base.audience })), {
      error: 'invalid_target',
      code: 'WARRANT_AUDIENCE_NOT_ALLOWED',
    });
  });
});

describe('checkSubjectType', () => {
  test('an ID token, an ID-JAG or a warrant; anything else is unsupported', () => {
    for (const subjectType of [TOKEN_TYPE.idToken, TOKEN_TYPE.idJag, TOKEN_TYPE.warrant])
      checkSubjectType(contextWith({ subjectType }));
    for (const subjectType of [TOKEN_TYPE.identity, TOKEN_TYPE.jwt, 'urn:x'])
      assert.throws(() => checkSubjectType(contextWith({ subjectType })), {
        error: 'invalid_request',
        code: 'WARRANT_TOKEN_TYPE_UNSUPPORTED',
      });
  });
});
