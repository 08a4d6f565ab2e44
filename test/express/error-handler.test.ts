import { describe, expect, it } from '@jest/globals';
import type { Request } from 'express';
import request from 'supertest';
import { InvalidTokenError, ServiceUnavailableError, m2mErrorHandler, type M2MError } from '../../src/index.js';
import { express } from '../helpers/express.js';

describe('m2mErrorHandler', () => {
  it('renders package errors as RFC 6750 JSON with their headers', async () => {
    const app = express();
    app.get('/', () => {
      throw new ServiceUnavailableError('signing keys are temporarily unavailable', { retryAfter: 30 });
    });
    app.use(m2mErrorHandler());
    const res = await request(app).get('/');
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('30');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'signing keys are temporarily unavailable',
    });
  });

  it('passes other errors on to next(err)', async () => {
    const app = express();
    app.get('/', () => {
      throw new Error('database down');
    });
    app.use(m2mErrorHandler());
    app.use(
      (_error: unknown, _req: Request, res: import('express').Response, _next: import('express').NextFunction) => {
        res.status(500).send('handled downstream');
      },
    );
    const res = await request(app).get('/');
    expect(res.status).toBe(500);
    expect(res.text).toBe('handled downstream');
  });

  it('reports each rendered error to onError, and survives a throwing hook', async () => {
    const seen: string[] = [];
    const app = express();
    app.get('/', () => {
      throw new InvalidTokenError('token expired');
    });
    app.use(
      m2mErrorHandler({
        onError: (error: M2MError, req: Request) => {
          seen.push(`${error.code} ${req.path}`);
          throw new Error('logger broke');
        },
      }),
    );
    const res = await request(app).get('/');
    expect(res.status).toBe(401);
    expect(seen).toEqual(['invalid_token /']);
  });
});
