import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeZip } from '../libs/qti/src/fixtures/zip-writer.ts';
import type { TestEntry } from '../libs/qti/src/fixtures/zip-writer.ts';
import { findAssessment } from '../services/assessment/src/repository.ts';
import { openRaw, setup } from './support/setup.ts';
import { runAdmin } from './support/admin.ts';
import type { TestStack } from './support/setup.ts';

const FIXTURES = fileURLToPath(new URL('../libs/qti/src/fixtures/', import.meta.url));

let stack: TestStack;
let work: string | undefined;

before(async () => {
  stack = await setup();
  work = await mkdtemp(join(tmpdir(), 'qti-import-'));
});

after(async () => {
  await (stack as TestStack | undefined)?.close();
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

/** Runs `npm run admin -- …` as the operator would, against the test's stack. */
const admin = (args: string[]) => runAdmin(stack, args);

/** A package with a manifest listing the given fixture files as items of the given resource types. */
async function packageOf(files: { fixture: string; type: string }[]): Promise<TestEntry[]> {
  const resources = files.map(
    (f, i) => `<resource identifier="r${i}" type="${f.type}" href="items/${f.fixture}"><file href="items/${f.fixture}"/></resource>`,
  );
  const manifest = `<?xml version="1.0" encoding="UTF-8"?>
<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1" identifier="m"><organizations/><resources>${resources.join('')}</resources></manifest>`;
  const entries: TestEntry[] = [{ name: 'imsmanifest.xml', data: Buffer.from(manifest) }];
  for (const f of files) entries.push({ name: `items/${f.fixture}`, data: await readFile(join(FIXTURES, f.fixture)) });
  return entries;
}

type Frame = { type: string; data: Record<string, unknown> };

/** A candidate takes a fixed test to the end, answering each question with `choose`; returns the questions asked. */
async function takeTest(
  testId: string,
  choose: (stem: string, options: { id: string; text: string }[]) => string,
): Promise<{ questions: Frame[]; assessmentId: string }> {
  const candidate = await stack.inviteCandidate(testId);
  const s = await openRaw(`${stack.wsUrl}/ws/assessment?token=${encodeURIComponent(candidate.token)}`);
  await s.waitFor((f) => f.type === 'auth_success');
  s.send({ type: 'start_assessment', data: { test_id: testId }, id: 'start' });
  const started = await s.reply('start');
  assert.equal(started.type, 'assessment_started', JSON.stringify(started));
  const questions: Frame[] = [];
  for (let n = 0; n < 10; n++) {
    s.send({ type: 'get_question', data: {}, id: `q${n}` });
    const q = await s.reply(`q${n}`);
    if (q.type === 'assessment_completed') break;
    assert.equal(q.type, 'question', JSON.stringify(q));
    questions.push(q);
    const options = q.data['options'] as { id: string; text: string }[];
    s.send({
      type: 'submit_answer',
      data: { question_id: q.data['question_id'], selected_option: choose(String(q.data['stem']), options) },
      id: `a${n}`,
    });
    const fb = await s.reply(`a${n}`);
    assert.equal(fb.type, 'answer_feedback', JSON.stringify(fb));
    if (fb.data['finished'] === true) break;
  }
  s.ws.close();
  return { questions, assessmentId: String(started.data['assessment_id']) };
}

/** The items collection, by item id. */
const items = () => stack.db.collection<{ _id: string; skill: string }>('items');

describe('QTI import', () => {
  test('a QTI 3.0 package imported by the admin CLI is what a candidate is asked', async () => {
    const out = await admin(['import', join(FIXTURES, 'package')]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /imported 3 items/);
    const stored = await stack.db
      .collection<{ _id: string; skill: string; a: number; b: number; c: number }>('items')
      .find({ _id: { $in: ['qti-geo-rivers', 'qti-geo-peaks', 'qti-geo-deserts'] } })
      .toArray();
    const byId = new Map(stored.map((d) => [d._id, d]));
    assert.deepEqual(
      [byId.get('qti-geo-rivers')?.a, byId.get('qti-geo-rivers')?.b, byId.get('qti-geo-rivers')?.c, byId.get('qti-geo-rivers')?.skill],
      [1.4, -0.5, 0.2, 'geography'],
    );
    assert.deepEqual([byId.get('qti-geo-peaks')?.a, byId.get('qti-geo-peaks')?.skill], [0.9, 'mountains']);
    assert.equal(byId.get('qti-geo-deserts')?.b, 1.2);

    const { test_id: testId } = await stack.bus.request('testCreate', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      definition: {
        id: 'qti-geography',
        title: 'Geography (QTI)',
        time_limit_s: 600,
        strategy: 'fixed',
        items: ['qti-geo-rivers', 'qti-geo-peaks', 'qti-geo-deserts'],
      },
      items: [],
    });
    const answers: Record<string, string> = {
      'Which river is the longest?': 'Nile',
      'Which mountain is the highest?': 'Everest',
      'Which desert is the largest hot desert?': 'Sahara',
    };
    const { questions, assessmentId } = await takeTest(
      testId,
      (stem, options) => options.find((o) => o.text === answers[stem])?.id ?? 'none',
    );
    assert.deepEqual(
      questions.map((q) => q.data['stem']),
      Object.keys(answers),
    );
    assert.deepEqual(
      questions.map((q) => (q.data['options'] as { text: string }[]).map((o) => o.text)),
      [
        ['Nile', 'Danube', 'Thames'],
        ['Mont Blanc', 'Everest', 'Kilimanjaro'],
        ['Gobi', 'Atacama', 'Sahara'],
      ],
    );
    for (const q of questions) assert.ok(!JSON.stringify(q).includes('"key"'), 'no answer key reaches the candidate');
    const doc = await findAssessment(stack.db, { _id: assessmentId });
    assert.equal(doc?.status, 'completed');
    assert.equal(doc.result?.number_correct, 3, JSON.stringify(doc.result));
  });

  test('an unsupported item refuses the whole package naming its id, file and reason; --skip-unsupported imports the rest', async () => {
    const zip = join(work ?? tmpdir(), 'mixed.zip');
    await writeFile(
      zip,
      writeZip(
        await packageOf([
          { fixture: 'v21-single.xml', type: 'imsqti_item_xmlv2p1' },
          { fixture: 'text-entry.xml', type: 'imsqti_item_xmlv2p1' },
        ]),
      ),
    );
    const refused = await admin(['import', zip, '--skill', 'algebra']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /VALIDATION_FAILED: 1 item\(s\) cannot be imported; nothing was imported/);
    assert.match(refused.stderr, /item v21-text-entry \(items\/text-entry\.xml\): unsupported interaction <textEntryInteraction>/);
    assert.equal(await items().countDocuments({ _id: { $in: ['v21-square', 'v21-text-entry'] } }), 0, 'nothing was imported');

    const skipped = await admin(['import', zip, '--skill', 'algebra', '--skip-unsupported']);
    assert.equal(skipped.code, 0, skipped.stderr);
    assert.match(skipped.stdout, /imported 1 items\nskipped v21-text-entry \(items\/text-entry\.xml\): unsupported interaction/);
    assert.equal((await items().findOne({ _id: 'v21-square' }))?.skill, 'algebra');
    assert.equal(await items().countDocuments({ _id: 'v21-text-entry' }), 0);
  });

  test('a document with a DOCTYPE is refused by the CLI before anything is read from it', async () => {
    const out = await admin(['import', join(FIXTURES, 'xxe.xml'), '--skill', 's']);
    assert.equal(out.code, 1);
    assert.match(out.stderr, /xxe\.xml: a DOCTYPE \(DTD\) is not allowed/);
    assert.equal(await items().countDocuments({ _id: 'v3-xxe' }), 0);
  });
});

describe('QTI import over HTTP', () => {
  /** POST /api/items/import with a raw body and its media type. */
  async function upload(
    token: string,
    type: string,
    body: Uint8Array,
    query = '',
  ): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(`${stack.httpUrl}/api/items/import${query}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': type },
      body: new Blob([new Uint8Array(body)]),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }
  const errorOf = (r: { body: Record<string, unknown> }) =>
    r.body['error'] as { code: string; message: string; details?: { errors?: { item: string; file: string; reason: string }[] } };

  test('a recruiter uploads a package zip and an item XML; a candidate is asked the imported questions', async () => {
    const recruiter = await stack.staffToken('qti-recruiter@example.test', 'recruiter', []);
    const zip = writeZip(
      await packageOf([
        { fixture: 'v3-single.xml', type: 'imsqti_item_xmlv3p0' },
        { fixture: 'html-allowed.xml', type: 'imsqti_item_xmlv3p0' },
        { fixture: 'multiple.xml', type: 'imsqti_item_xmlv3p0' },
      ]),
    );
    const refused = await upload(recruiter, 'application/zip', zip, '?skill=general');
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.deepEqual(
      errorOf(refused).details?.errors?.map((e) => [e.item, e.file]),
      [['v3-multiple', 'items/multiple.xml']],
    );
    assert.equal(await items().countDocuments({ _id: { $in: ['v3-capital', 'v3-html'] } }), 0, 'nothing was imported');

    const imported = await upload(recruiter, 'application/zip', zip, '?skill=general&skip_unsupported=true');
    assert.equal(imported.status, 200, JSON.stringify(imported.body));
    assert.deepEqual(imported.body['item_ids'], ['v3-capital', 'v3-html']);
    assert.deepEqual(
      (imported.body['skipped'] as { item: string }[]).map((s) => s.item),
      ['v3-multiple'],
    );

    const xml = await upload(recruiter, 'application/xml', await readFile(join(FIXTURES, 'bad-correct.xml')), '?skill=general');
    assert.equal(xml.status, 400);
    assert.deepEqual(
      errorOf(xml).details?.errors?.map((e) => [e.item, e.file]),
      [['v3-bad-key', 'item.xml']],
    );
    const single = await upload(
      recruiter,
      'text/xml; charset=utf-8',
      Buffer.from((await readFile(join(FIXTURES, 'v3-single.xml'), 'utf8')).replaceAll('v3-capital', 'v3-capital-http')),
      '?skill=capitals',
    );
    assert.equal(single.status, 200, JSON.stringify(single.body));
    assert.deepEqual(single.body['item_ids'], ['v3-capital-http']);

    const { test_id: testId } = await stack.bus.request('testCreate', {
      caller: { user_id: stack.seed.recruiter.user_id, role: 'recruiter' },
      definition: {
        id: 'qti-http',
        title: 'Uploaded QTI',
        time_limit_s: 600,
        strategy: 'fixed',
        items: ['v3-capital', 'v3-html', 'v3-capital-http'],
      },
      items: [],
    });
    const { questions } = await takeTest(testId, (_stem, options) => options[0]?.id ?? 'none');
    assert.deepEqual(
      questions.map((q) => q.data['stem']),
      [
        'Paris is on the Seine.\n\nWhich city is the capital of France?',
        'Read the policy below.\n- Water is H_2O\n- Ice floats\n\nIs this true?',
        'Paris is on the Seine.\n\nWhich city is the capital of France?',
      ],
    );
  });

  test('unsafe uploads are refused with a clear error: DTDs, zip bombs, traversal, oversized bodies, and callers other than recruiters', async () => {
    const recruiter = await stack.staffToken('qti-recruiter@example.test', 'recruiter', []);
    for (const name of ['xxe.xml', 'billion-laughs.xml']) {
      const r = await upload(recruiter, 'application/xml', await readFile(join(FIXTURES, name)), '?skill=s');
      assert.equal(r.status, 400);
      assert.match(errorOf(r).message, /a DOCTYPE \(DTD\) is not allowed/);
    }
    const entries = await packageOf([{ fixture: 'v3-single.xml', type: 'imsqti_item_xmlv3p0' }]);
    const bomb = writeZip([...entries, { name: 'items/filler.bin', data: Buffer.alloc(6 * 1024 * 1024) }]);
    assert.match(errorOf(await upload(recruiter, 'application/zip', bomb)).message, /bytes uncompressed; at most 4194304 are read/);
    const traversal = writeZip([...entries, { name: '../../outside.xml', data: Buffer.from('<x/>') }]);
    assert.match(errorOf(await upload(recruiter, 'application/zip', traversal)).message, /path traversal/);
    const huge = await upload(recruiter, 'application/zip', Buffer.alloc(9 * 1024 * 1024));
    assert.equal(huge.status, 400);
    assert.match(errorOf(huge).message, /the body is larger than 8388608 bytes/);
    const proctor = await stack.staffToken('qti-proctor@example.test', 'proctor', []);
    assert.equal((await upload(proctor, 'application/zip', writeZip(entries))).status, 403);
    const candidate = await stack.inviteCandidate();
    assert.equal((await upload(candidate.token, 'application/xml', await readFile(join(FIXTURES, 'v3-single.xml')))).status, 403);
    assert.equal(await items().countDocuments({ _id: 'v3-xxe' }), 0);
  });
});
