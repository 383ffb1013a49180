import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, generateKeyPair, importJWK } from 'jose';
import type { JWK } from 'jose';
import { findAssessment, findAssessments } from '../services/assessment/src/repository.ts';
import { TOKEN_AUDIENCE, TOKEN_ISSUER } from '@ap/protocol';
import { openRaw, setup } from './support/setup.ts';
import type { RawSocket, TestStack } from './support/setup.ts';

let stack: TestStack;

before(async () => {
  stack = await setup();
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
});

/** Everything the services stored, to check that a bad input changed nothing. */
async function snapshot(): Promise<string> {
  const assessments = (await findAssessments(stack.db, {})).sort((x, y) => x._id.localeCompare(y._id));
  const messages = await stack.db.collection('chat_messages').countDocuments();
  return JSON.stringify({ assessments: assessments.map((a): unknown[] => [a._id, a.version, a.responses.length]), messages });
}

async function candidateSocket(): Promise<{ s: RawSocket; token: string; userId: string }> {
  const c = await stack.inviteCandidate();
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${c.token}`);
  await s.waitFor((f) => f.type === 'auth_success');
  return { s, token: c.token, userId: c.user_id };
}

/** Checks that the connection still serves after a bad frame. */
async function stillServes(s: RawSocket): Promise<void> {
  const id = `hb-${Math.random().toString(36).slice(2)}`;
  s.send({ type: 'heartbeat', data: {}, id });
  assert.equal((await s.reply(id)).type, 'heartbeat_ack');
}

async function signWithStoredKey(claims: Record<string, unknown>, exp: number): Promise<string> {
  const key = await stack.db.collection<{ _id: string; alg: string; private_jwk: JWK }>('signing_keys').findOne({}, { sort: { created_at: -1 } });
  assert.ok(key, 'the auth service stored a signing key');
  const privateKey = await importJWK(key.private_jwk, key.alg);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: key.alg, kid: key._id })
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(exp - 3600)
    .setExpirationTime(exp)
    .sign(privateKey);
}

describe('bad input gets a coded error, changes nothing, and the connection keeps serving', () => {
  test('invalid JSON, unknown type, and missing or wrong-typed fields', async () => {
    const { s } = await candidateSocket();
    const before = await snapshot();
    s.sendText('{"type": "get_question", ');
    assert.equal((await s.waitFor((f) => f.type === 'error')).data['code'], 'INVALID_JSON');
    s.send({ type: 'launch_missiles', data: {}, id: 'u1' });
    assert.equal((await s.reply('u1')).data['code'], 'UNKNOWN_TYPE');
    s.send({ type: 'submit_answer', data: { question_id: 'x' }, id: 'v1' });
    const missing = await s.reply('v1');
    assert.equal(missing.data['code'], 'VALIDATION_FAILED');
    s.send({ type: 'submit_answer', data: { question_id: 42, selected_option: ['a'] }, id: 'v2' });
    assert.equal((await s.reply('v2')).data['code'], 'VALIDATION_FAILED');
    s.send({ type: 'start_assessment', data: 'nope', id: 'v3' });
    assert.equal((await s.reply('v3')).data['code'], 'VALIDATION_FAILED');
    s.send({ type: 'heartbeat', data: {}, id: 'x'.repeat(65) });
    assert.equal((await s.waitFor((f) => f.type === 'error' && f.reply_to === undefined && f.data['code'] === 'VALIDATION_FAILED')).type, 'error');
    await stillServes(s);
    assert.equal(await snapshot(), before);
    s.ws.close();
  });

  test('a frame over 64 KiB closes the connection with 1009 and nothing is stored', async () => {
    const { s } = await candidateSocket();
    const before = await snapshot();
    s.send({ type: 'chat_message', data: { message: 'x'.repeat(70 * 1024) }, id: 'big' });
    const closed = await s.closed;
    assert.equal(closed.code, 1009);
    assert.equal(await snapshot(), before);
    // The gateway keeps serving others.
    const other = await candidateSocket();
    await stillServes(other.s);
    other.s.ws.close();
  });

  test('frames before authentication get AUTH_REQUIRED; an auth frame then works', async () => {
    const s = await openRaw(`${stack.wsUrl}/ws/assessment`);
    s.send({ type: 'start_assessment', data: { test_id: stack.seed.test_id }, id: 'early' });
    assert.equal((await s.reply('early')).data['code'], 'AUTH_REQUIRED');
    s.send({ type: 'heartbeat', data: {}, id: 'early-hb' });
    assert.equal((await s.reply('early-hb')).data['code'], 'AUTH_REQUIRED');
    const c = await stack.inviteCandidate();
    s.send({ type: 'auth', data: { token: c.token }, id: 'auth' });
    const ok = await s.reply('auth');
    assert.equal(ok.type, 'auth_success');
    assert.equal(ok.data['user_id'], c.user_id);
    await stillServes(s);
    s.ws.close();
  });

  test('expired, badly signed and alg:none tokens are AUTH_INVALID', async () => {
    const c = await stack.inviteCandidate();
    const claims = { sub: c.user_id, role: 'candidate', tests: [stack.seed.test_id] };
    const expired = await signWithStoredKey(claims, Math.floor(Date.now() / 1000) - 60);
    const { privateKey } = await generateKeyPair('EdDSA');
    const stored = await stack.db.collection<{ _id: string }>('signing_keys').findOne({});
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: stored?._id ?? 'k' })
      .setIssuer(TOKEN_ISSUER)
      .setAudience(TOKEN_AUDIENCE)
      .setExpirationTime('1h')
      .sign(privateKey);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...claims, iss: TOKEN_ISSUER, aud: TOKEN_AUDIENCE, exp: Math.floor(Date.now() / 1000) + 3600 })}.`;
    const before = await snapshot();
    for (const [label, token] of [
      ['expired', expired],
      ['badly signed', forged],
      ['alg none', unsigned],
      ['garbage', 'not-a-jwt'],
    ] as const) {
      const s = await openRaw(`${stack.wsUrl}/ws/assessment`);
      s.send({ type: 'auth', data: { token }, id: 'a' });
      const reply = await s.reply('a');
      assert.equal(reply.type, 'error', label);
      assert.equal(reply.data['code'], 'AUTH_INVALID', label);
      s.send({ type: 'start_assessment', data: { test_id: stack.seed.test_id }, id: 's' });
      assert.equal((await s.reply('s')).data['code'], 'AUTH_REQUIRED', label);
      s.ws.close();
    }
    // A bad token in the upgrade request is answered the same way.
    const viaHeader = await openRaw(`${stack.wsUrl}/ws/assessment`, { authorization: `Bearer ${forged}` });
    assert.equal((await viaHeader.waitFor((f) => f.type === 'error')).data['code'], 'AUTH_INVALID');
    viaHeader.ws.close();
    assert.equal(await snapshot(), before);
  });

  test("another candidate's assessment or test is FORBIDDEN", async () => {
    const a = await candidateSocket();
    a.s.send({ type: 'start_assessment', data: { test_id: stack.seed.test_id }, id: 's' });
    const started = await a.s.reply('s');
    const assessmentId = String(started.data['assessment_id']);
    const b = await stack.inviteCandidate();
    const before = await snapshot();
    // B reads A's assessment room on /ws/chat.
    const chat = await openRaw(`${stack.wsUrl}/ws/chat?token=${b.token}`);
    await chat.waitFor((f) => f.type === 'auth_success');
    chat.send({ type: 'chat_message', data: { message: 'let me in', room_id: `asm_${assessmentId}` }, id: 'c' });
    assert.equal((await chat.reply('c')).data['code'], 'FORBIDDEN');
    chat.ws.close();
    // B asks the assessment service about A's assessment directly on the bus.
    await assert.rejects(
      stack.bus.request('assessmentQuestion', { caller: { user_id: b.user_id, role: 'candidate' }, assessment_id: assessmentId }),
      (err: Error & { code?: string }) => err.code === 'FORBIDDEN',
    );
    // B's token is scoped to the demo test only.
    const bs = await openRaw(`${stack.wsUrl}/ws/assessment?token=${b.token}`);
    await bs.waitFor((f) => f.type === 'auth_success');
    bs.send({ type: 'start_assessment', data: { test_id: 'some-other-test' }, id: 'o' });
    assert.equal((await bs.reply('o')).data['code'], 'FORBIDDEN');
    await stillServes(bs);
    bs.ws.close();
    assert.equal(await snapshot(), before);
    a.s.ws.close();
  });

  test('an answer to a question not asked is CONFLICT and is not stored', async () => {
    const { s } = await candidateSocket();
    s.send({ type: 'start_assessment', data: {}, id: 's' });
    const started = await s.reply('s');
    const id = String(started.data['assessment_id']);
    s.send({ type: 'get_question', data: {}, id: 'q' });
    const q = await s.reply('q');
    const docBefore = await findAssessment(stack.db, { _id: id });
    const other = q.data['question_id'] === 'num-01' ? 'num-02' : 'num-01';
    s.send({ type: 'submit_answer', data: { question_id: other, selected_option: 'a' }, id: 'x' });
    const conflict = await s.reply('x');
    assert.equal(conflict.data['code'], 'CONFLICT');
    s.send({ type: 'submit_answer', data: { question_id: q.data['question_id'], selected_option: 'zz' }, id: 'y' });
    assert.equal((await s.reply('y')).data['code'], 'VALIDATION_FAILED');
    const docAfter = await findAssessment(stack.db, { _id: id });
    assert.deepEqual(docAfter, docBefore);
    await stillServes(s);
    s.ws.close();
  });
});
