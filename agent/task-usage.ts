/**
 * What a task used, measured on its lane at a cost a tiny task does not notice: CPU time from
 * the thread's (or, on a one-lane agent, the process's) CPU clock, and the agent's peak resident
 * memory as the supervisor samples it (every 100 ms, on a thread task code never blocks).
 */

/** A CPU clock in microseconds, or undefined where the platform cannot give this thread's own. */
export type CpuClock = (() => number) | undefined;

/**
 * This thread's CPU clock: `process.threadCpuUsage` where Node has it (23.9 and later); else
 * the process's, when the agent has one lane (then it is the task's, plus the runtime's own
 * helper threads); else none, since the process's would count other lanes' tasks too.
 */
export function cpuClock(lanes: number): CpuClock {
  const perThread = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage;
  if (typeof perThread === 'function') {
    return () => {
      const u = perThread.call(process);
      return u.user + u.system;
    };
  }
  if (lanes === 1) {
    return () => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
  }
  return undefined;
}
