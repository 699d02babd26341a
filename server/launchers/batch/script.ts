/**
 * The script of an array of agents, for any batch system: its header lines, then one case per
 * element feeding that element's credentials to its agent on stdin (never argv). The file is
 * written 0600; each agent is `--detached` (the system closes its stdin) and leaves by its idle
 * timeout, its grace period, or the job's end.
 */
import type { AgentCredentials } from '../../../agent/protocol/identity.js';

/** What goes into an array script. */
export interface ArrayScriptInput {
  /** Header lines, directives included (`#SBATCH ...`, `#$ ...`). */
  header: string[];
  /** The variable with the element's index, and the first index. */
  element: { variable: string; first: number };
  setup?: string;
  nodeCmd: string;
  bundle: string;
  credentials: AgentCredentials[];
}

/** The script for one array, element `first + i` running with credentials[i]. */
export function arrayScript(o: ArrayScriptInput): string {
  // The heredoc belongs to the exec'd node, after the user's setup (module load, conda...).
  const setup = o.setup ? `${o.setup} && ` : '';
  const { variable, first } = o.element;
  const cases = o.credentials.map(
    (c, i) => `  ${first + i}) ${setup}exec ${o.nodeCmd} ${o.bundle} --detached <<'FLOTILLA_CREDENTIALS'\n${JSON.stringify(c)}\nFLOTILLA_CREDENTIALS\n    ;;`,
  );
  return [
    '#!/bin/bash',
    ...o.header,
    '# Written by flotilla. Each array element starts one agent; its credentials go in on stdin.',
    `case "\${${variable}:-${first}}" in`,
    ...cases,
    `  *) echo "flotilla: no agent for array element $${variable}" >&2; exit 2 ;;`,
    'esac',
    '',
  ].join('\n');
}
