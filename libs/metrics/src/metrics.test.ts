import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetrics, startMetricsServer } from './index.ts';

test('serves the platform metrics, health and readiness over HTTP', async () => {
  const metrics = createMetrics({ service: 'unit' });
  metrics.connections(() => 3);
  metrics.frameIn('submit_answer');
  metrics.handled('assessment.v1.answer', 'ok');
  metrics.handled('assessment.v1.answer', 'CONFLICT');
  metrics.requestDone('assessment.v1.answer', 0.004);
  metrics.assessmentFinished('completed');
  let ready = false;
  const server = await startMetricsServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, ready: () => ready });
  try {
    const base = `http://127.0.0.1:${server.port()}`;
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^ws_connections\{service="unit"\} 3$/m);
    assert.match(text, /^ws_frames_total\{direction="in",type="submit_answer",service="unit"\} 1$/m);
    assert.match(text, /^nats_handled_total\{subject="assessment.v1.answer",outcome="CONFLICT",service="unit"\} 1$/m);
    assert.match(text, /^errors_total\{code="CONFLICT",service="unit"\} 1$/m);
    assert.match(text, /^nats_request_duration_seconds_count\{service="unit",subject="assessment.v1.answer"\} 1$/m);
    assert.match(text, /^assessments_total\{status="completed",service="unit"\} 1$/m);
    assert.match(text, /^process_cpu_user_seconds_total/m);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    assert.equal((await fetch(`${base}/readyz`)).status, 503);
    ready = true;
    assert.equal((await fetch(`${base}/readyz`)).status, 200);
    assert.equal((await fetch(`${base}/nope`)).status, 404);
  } finally {
    await server.close();
  }
});
