/**
 * Background-load detection (Linux /proc only; elsewhere every figure is null): how much of
 * the machine's CPU went to processes other than the benchmark's own during a run. Another
 * job on the machine skews a run; the report shows it instead of hiding it.
 */
import { readFileSync } from 'node:fs';

function systemTicks() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, idle, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields;
  // irq/softirq time is left out of "busy": on a loopback benchmark it is mostly the
  // benchmark's own network traffic, which the kernel does not charge to any process.
  const busy = user + nice + system + steal;
  return { busy, total: busy + idle + iowait + irq + softirq };
}

/** CPU time (user + system) of a process so far, in clock ticks (1/100 s on Linux); 0 if unknown. */
export function processTicks(pid) {
  return ticksOf(`/proc/${pid}/stat`);
}

/** The same for the process's main thread alone: in Node, the event loop (its thread id is the process id). */
export function mainThreadTicks(pid) {
  return ticksOf(`/proc/${pid}/task/${pid}/stat`);
}

function ticksOf(statFile) {
  try {
    const stat = readFileSync(statFile, 'utf8');
    // Fields after the command name (which may contain spaces) start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return 0;
  }
}

/** Starts a measurement over `pids`; `stop()` returns the share of all cores used by others (0–1). */
export function measureForeignCpu(pids) {
  let start;
  try {
    start = { system: systemTicks(), own: pids.map(processTicks) };
  } catch {
    return { stop: () => null };
  }
  return {
    stop() {
      try {
        const system = systemTicks();
        const own = pids.map(processTicks).reduce((sum, ticks, i) => sum + ticks - start.own[i], 0);
        const total = system.total - start.system.total;
        if (total <= 0) return null;
        return Math.max(0, (system.busy - start.system.busy - own) / total);
      } catch {
        return null;
      }
    },
  };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the machine is quiet: other processes use at most `threshold` (0–1) of it over a
 * `probeMs` window, for at most `maxWaitMs`. Resolves `{ waitedMs, foreignCpu }` (the last probe).
 */
export async function waitForQuiet(pids, { threshold, maxWaitMs, probeMs = 500 }) {
  const started = Date.now();
  let foreignCpu = null;
  do {
    const probe = measureForeignCpu(pids);
    await sleep(probeMs);
    foreignCpu = probe.stop();
    if (foreignCpu === null || foreignCpu <= threshold) break;
  } while (Date.now() - started < maxWaitMs);
  return { waitedMs: Date.now() - started, foreignCpu };
}

/**
 * Host speed probe: iterations per millisecond of a fixed arithmetic loop on this thread over
 * `ms`. The machine this runs on may lose CPU to neighbours that /proc cannot see (another VM
 * on the same host, a busy sibling hyper-thread): processes are then charged the time but get
 * less done. Comparing a probe with the best one seen so far exposes that.
 */
export function speedProbe(ms = 100) {
  let iterations = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 2_000; i++) sink += Math.sqrt(i + sink * 1e-12);
    iterations += 2_000;
    now = performance.now();
  }
  if (sink < 0) console.error(sink); // keeps the loop from being optimised away
  return iterations / (now - start);
}
