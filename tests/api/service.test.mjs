// Service endpoints through Node's fetch (undici), as a browser-side or JS client sees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const URL_BASE = process.env.DATASPACE_URL;

test('landing page lists the service links', async () => {
  const res = await fetch(`${URL_BASE}/`);
  assert.equal(res.status, 200);
  const body = await res.json();
  const rels = body.links.map((l) => l.rel);
  assert.ok(rels.includes('self'));
  assert.ok(body.links.some((l) => l.href === `${URL_BASE}/metrics`));
});

test('health answers ok, and CORS lets a browser read it', async () => {
  const res = await fetch(`${URL_BASE}/health`, { headers: { Origin: 'http://localhost:5173' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('access-control-allow-origin'), '*');
  assert.deepEqual(await res.json(), { status: 'ok' });
});

test('unknown path is RFC 7807 problem JSON', async () => {
  const res = await fetch(`${URL_BASE}/nowhere`);
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const body = await res.json();
  assert.equal(body.title, 'Not found');
  assert.ok(body.request_id.length > 0);
});

test('many concurrent requests all succeed', async () => {
  const all = await Promise.all(Array.from({ length: 200 }, () => fetch(`${URL_BASE}/health`)));
  assert.ok(all.every((r) => r.status === 200));
});
