import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCliArgs, runCli, seededRandom } from './cli.ts';
import { assessmentHandler, startServer } from './scripted-server.ts';
import type { TestServer } from './scripted-server.ts';

const servers: TestServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

async function scriptedGateway(total = 3, mode: 'push-after-answer' | 'reply-to-get-question' = 'push-after-answer'): Promise<TestServer> {
  const server = await startServer(assessmentHandler(total, mode));
  servers.push(server);
  return server;
}

async function run(argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('cli arguments', () => {
  it('rejects bad arguments with exit code 2', async () => {
    for (const argv of [
      [],
      ['--token', 'a', '--code', 'abcd'],
      ['--token', 'a', '--url', 'http://x'],
      ['--token', 'a', '--max', '0'],
      ['--token', 'a', '--max', 'ten'],
      ['--token', 'a', '--auth', 'header'],
      ['--token', 'a', '--nope'],
      ['--token', 'a', 'positional'],
      ['--token', 'a', '--answers', '/does/not/exist.json'],
    ]) {
      const { code, err } = await run(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(err.join('\n'), /error:/);
    }
  });

  it('prints the usage with --help', async () => {
    const { code, out } = await run(['--help']);
    assert.equal(code, 0);
    assert.match(out.join('\n'), /Usage: npm run client/);
  });

  it('applies defaults', () => {
    const parsed = parseCliArgs(['--token', 't']);
    assert.ok(parsed.ok && 'args' in parsed);
    assert.equal(parsed.args.url, 'ws://127.0.0.1:8080/ws/assessment');
    assert.equal(parsed.args.max, 500);
    assert.equal(parsed.args.answers, 'random');
  });

  it('seeded random is deterministic', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const xs = [a(), a(), a()];
    assert.deepEqual(xs, [b(), b(), b()]);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
  });
});

describe('cli run', () => {
  it('plays a whole assessment, prints readable lines and exits 0', async () => {
    const server = await scriptedGateway(3);
    const { code, out, err } = await run([
      '--url', server.url, '--token', 'good', '--answers', 'first', '--chat', 'hello there', '--progress-every', '1',
    ]);
    const text = out.join('\n');
    assert.equal(code, 0, text + err.join('\n'));
    assert.match(text, /→ auth \(token\)/);
    assert.doesNotMatch(text, /good/);
    assert.match(text, /← auth_success user u1 \(candidate\)/);
    assert.match(text, /← question 1\/3 \[math\] What is 1 \+ 1\?/);
    assert.match(text, /→ submit_answer q1 = A/);
    assert.match(text, /← answer_feedback q1 = A accepted, 1 answered/);
    assert.match(text, /← progress_update 1\/3 33%/);
    assert.match(text, /→ chat_message "hello there"/);
    assert.match(text, /← chat_message \[assistant\] How can I help\?/);
    assert.match(text, /← assessment_completed completed \(max_items\), score 100/);
    assert.match(out.at(-1) ?? '', /^summary: completed=true .*reason=max_items/);
    assert.equal(server.received.filter((f) => f.type === 'end_assessment').length, 0);
    assert.equal(server.received.filter((f) => f.type === 'chat_message').length, 1);
  });

  it('--json prints raw frames and a JSON summary; --answers FILE picks the mapped options', async () => {
    const server = await scriptedGateway(2, 'reply-to-get-question');
    const dir = await mkdtemp(join(tmpdir(), 'ap-client-'));
    const file = join(dir, 'answers.json');
    await writeFile(file, JSON.stringify({ q1: 'B', q2: 'A' }));
    const { code, out } = await run(['--url', server.url, '--token', 'good', '--auth', 'query', '--answers', file, '--json']);
    assert.equal(code, 0);
    const lines = out.map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.at(-1)?.['summary'] && (lines.at(-1)?.['summary'] as Record<string, unknown>)['completed'], true);
    assert.ok(lines.some((l) => l['type'] === 'question' && typeof l['ts'] === 'string'));
    assert.deepEqual(
      server.received.filter((f) => f.type === 'submit_answer').map((f) => f.data['selected_option']),
      ['B', 'A'],
    );
    assert.equal(server.received.filter((f) => f.type === 'auth').length, 0);
    assert.match(server.upgradeUrls[0] ?? '', /token=good/);
  });

  it('ends the assessment itself at the --max cap and exits 1', async () => {
    const server = await scriptedGateway(5);
    const { code, out, err } = await run(['--url', server.url, '--token', 'good', '--max', '2', '--quiet']);
    assert.equal(code, 1);
    assert.equal(out.length, 1);
    assert.match(out[0] ?? '', /summary: completed=false .*reason=candidate_ended .*ended_by_client=true/);
    assert.match(err.join('\n'), /cap reached/);
    assert.equal(server.received.filter((f) => f.type === 'end_assessment').length, 1);
    assert.equal(server.received.filter((f) => f.type === 'submit_answer').length, 2);
  });

  it('exits 1 when authentication fails', async () => {
    const server = await scriptedGateway(3);
    const { code, err } = await run(['--url', server.url, '--token', 'bad', '--quiet']);
    assert.equal(code, 1);
    assert.match(err.join('\n'), /authentication failed: error AUTH_INVALID: bad token/);
  });

  it('exits 1 when nothing listens', async () => {
    const server = await scriptedGateway(3);
    await server.close();
    const { code } = await run(['--url', server.url, '--token', 'good', '--quiet', '--timeout', '2000']);
    assert.equal(code, 1);
  });

  it('--code redeems the invitation and starts its test', async () => {
    const server = await scriptedGateway(1);
    const http = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/api/auth/invitations/redeem') {
        res.end(JSON.stringify({ token: 'good', expires_at: 'E', user_id: 'u1', role: 'candidate', test_id: 'test-7', application_id: 'app1' }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { code: 'NOT_FOUND', message: 'no route' } }));
      }
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    after(() => http.close());
    const api = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const { code } = await run(['--url', server.url, '--code', 'INVITE-1', '--api', api, '--quiet']);
    assert.equal(code, 0);
    assert.deepEqual(server.received.find((f) => f.type === 'start_assessment')?.data, { test_id: 'test-7' });

    const bad = await run(['--url', server.url, '--code', 'INVITE-1', '--api', `${api}/nope`, '--quiet']);
    assert.equal(bad.code, 1);
    assert.match(bad.err.join('\n'), /NOT_FOUND: no route/);
  });
});
