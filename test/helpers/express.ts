/**
 * The Express major under test: 5 by default, 4 with EXPRESS_MAJOR=4 (`npm run test:express4`).
 * Every suite loads Express through this module, so one variable switches the whole run.
 */
import type { Express } from 'express';

export const expressMajor = process.env.EXPRESS_MAJOR === '4' ? 4 : 5;

const loaded = expressMajor === 4 ? await import('express4') : await import('express');

/** The `express` function of the major under test. */
export const express = loaded.default as unknown as {
  (): Express;
  urlencoded(options?: { extended?: boolean; limit?: string | number }): import('express').RequestHandler;
  json(): import('express').RequestHandler;
};
