/**
 * A guard on a route that requireM2M never ran for: a server misconfiguration. Its own file so
 * the once-per-process warning is observed from a fresh module.
 */
import { describe, expect, it, jest } from '@jest/globals';
import request from 'supertest';
import { m2mErrorHandler, requireScopes } from '../../src/index.js';
import { express } from '../helpers/express.js';

describe('a guard without requireM2M', () => {
  it('answers 401 when no requireM2M ran before the guard, and warns once that the route is misconfigured', async () => {
    const warn = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const bare = express();
      bare.get('/x', requireScopes('read:orders'), (_req, res) => {
        res.json({ ok: true });
      });
      bare.use(m2mErrorHandler());
      expect((await request(bare).get('/x')).status).toBe(401);
      expect((await request(bare).get('/x')).status).toBe(401);
      const warnings = warn.mock.calls.filter(([message]) => String(message).includes('without requireM2M'));
      expect(warnings).toHaveLength(1);
    } finally {
      warn.mockRestore();
    }
  });
});
