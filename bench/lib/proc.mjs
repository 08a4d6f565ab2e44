/**
 * Child processes of the benchmark: every child is tracked and killed when the parent exits,
 * whatever the reason (normal end, error, signal, watchdog).
 */
import { fork } from 'node:child_process';

const children = new Set();

function killAll() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
}

let installed = false;
/** Installs the exit/signal handlers once. */
export function installCleanup() {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      console.error(`\nbench: ${signal}, stopping child processes`);
      killAll();
      process.exit(130);
    });
  }
}

/**
 * Forks `modulePath` and waits for its `{ type: 'listening', port }` (or `{ type: 'result' }` for
 * one-shot jobs, see {@link runJob}). Resolves `{ child, port }`.
 */
export function startServer(modulePath, args, { execArgv = [], env, timeoutMs = 20_000, label = modulePath } = {}) {
  const child = fork(modulePath, args, {
    execArgv,
    env: env ?? childEnv(),
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label}: did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const onExit = (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${label}: exited before listening (code ${code}, signal ${signal})`));
    };
    child.once('exit', onExit);
    child.on('message', (message) => {
      if (message?.type === 'listening') {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, port: message.port });
      } else if (message?.type === 'error') {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.kill('SIGKILL');
        reject(new Error(`${label}: ${message.message}`));
      }
    });
  });
}

/** Asks a child to exit (so a CPU profile gets written), then kills it after `graceMs`. */
export function stopChild(child, graceMs = 10_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    if (child.connected) child.send({ type: 'shutdown' });
    else child.kill('SIGTERM');
  });
}

/**
 * Runs a one-shot child job that reports `{ type: 'result', result }` (or `{ type: 'error' }`)
 * over IPC and exits. Rejects after `timeoutMs`, killing the child.
 */
export function runJob(modulePath, args, { execArgv = [], timeoutMs, label = modulePath, onProgress } = {}) {
  const child = fork(modulePath, args, { execArgv, env: childEnv(), stdio: ['ignore', 2, 2, 'ipc'] });
  children.add(child);
  return new Promise((resolve, reject) => {
    let result;
    let failure;
    const timer = setTimeout(() => {
      failure = new Error(`${label}: no result within ${Math.round(timeoutMs / 1000)} s`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (message) => {
      if (message?.type === 'result') result = message.result;
      else if (message?.type === 'progress') onProgress?.(message.text);
      else if (message?.type === 'error') failure = new Error(`${label}: ${message.message}`);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      if (result !== undefined && failure === undefined) resolve(result);
      else reject(failure ?? new Error(`${label}: exited without a result (code ${code}, signal ${signal})`));
    });
  });
}

/**
 * The environment of every child: the parent's, minus NODE_ENV (express-oauth2-jwt-bearer
 * refuses an http:// issuer when NODE_ENV=production) and NODE_OPTIONS (so nothing injected
 * by the caller's shell changes how the contenders run).
 */
export function childEnv() {
  const env = { ...process.env };
  delete env.NODE_ENV;
  delete env.NODE_OPTIONS;
  for (const name of ['ISSUER_BASE_URL', 'ISSUER', 'JWKS_URI', 'AUDIENCE', 'SECRET']) delete env[name];
  return env;
}
