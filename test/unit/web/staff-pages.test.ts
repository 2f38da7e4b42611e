import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { webAdapter } from '../../../adapters/web/index.ts';
import { MemoryDirectory } from '../../../src/directory/directory.ts';
import { createLogger } from '../../../src/log.ts';
import { InProcessBus } from '../../../src/queue/bus.ts';
import { MemoryStore } from '../../../src/store/memory.ts';
import { data, locales, ROOT } from '../../helpers/world.ts';

/** The staff pages as the web adapter serves them: words from locales/, shared code from public/. */

const PUBLIC = join(ROOT, 'adapters/web/public');
const nb = locales.languages.find((l) => l.code === 'nb')?.staffPages;
let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  webAdapter({
    bus: new InProcessBus(),
    store: new MemoryStore(),
    directory: new MemoryDirectory(data),
    log: createLogger('silent'),
    demoStaff: [{ login: 'ingrid', name: 'Ingrid Berg', roles: ['kontaktlaerer'] }],
    languages: locales.languages,
    demoPeople: [],
  }).mount(app);
  await app.ready();
});
afterAll(async () => app?.close());

describe('the staff pages in the web adapter', () => {
  it('serves each page its words from locales/nb/staff-pages.json, the shared ones included', async () => {
    for (const [path, page] of [
      ['/staff-texts.json', 'staff'],
      ['/broadcast-texts.json', 'broadcast'],
    ] as const) {
      const res = await app.inject(path);
      expect(res.statusCode, path).toBe(200);
      expect(res.headers['content-type'], path).toMatch(/^application\/json/);
      expect(res.json(), path).toEqual(nb?.[page]);
      expect(res.json()['error.unknown_login'], path).toMatch(/innlogging/i);
    }
    // Words live in locales/, not beside the pages.
    expect(readdirSync(PUBLIC).filter((f) => f.endsWith('.json'))).toEqual([]);
  });

  it('both pages load the shared script and style sheet, which are served', async () => {
    for (const page of ['staff', 'broadcast']) {
      const html = (await app.inject(`/${page}`)).body;
      expect(html, page).toMatch(
        /<link rel="stylesheet" href="\/staff-common\.css">\s*<link rel="stylesheet" href="\/[a-z]+\.css">/,
      );
      expect((await app.inject(`/${page}.js`)).body, page).toContain("from '/staff-common.js'");
    }
    const js = await app.inject('/staff-common.js');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toBe(readFileSync(join(PUBLIC, 'staff-common.js'), 'utf8'));
    const css = await app.inject('/staff-common.css');
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('an unknown demo staff login is refused with its own code, which the page has a text for', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/staff/sessions',
      payload: { login: 'nobody' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json().error).toBe('unknown_login');
    expect(nb?.staff[`error.${res.json().error}`]).toBeTruthy();
    const known = await app.inject({
      method: 'POST',
      url: '/api/staff/sessions',
      payload: { login: 'ingrid' },
    });
    expect(known.statusCode).toBe(201);
  });

  it('will not start without the staff pages’ words', () => {
    const languages = locales.languages.map(({ staffPages: _, ...rest }) => rest);
    expect(() =>
      webAdapter({
        bus: new InProcessBus(),
        store: new MemoryStore(),
        directory: new MemoryDirectory(data),
        log: createLogger('silent'),
        demoStaff: [],
        languages,
        demoPeople: [],
      }),
    ).toThrow(/locales\/nb\/staff-pages\.json/);
  });
});
