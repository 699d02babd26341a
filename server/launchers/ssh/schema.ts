/** The keys and types of an SSH pool's options (SshPoolOptions). */
import { z } from 'zod';
import { strictOptions } from '../../../contract/option-check.js';
import { commonShape, num, sshConnectionShape } from '../schema-parts.js';

export const sshPoolSchema = strictOptions({
  ...commonShape,
  ...sshConnectionShape,
  launcher: z.literal('ssh'),
  hosts: z.array(z.string(), { error: "a list of hosts like ['ws1', 'alice@ws2:2222']" }),
  agentsPerHost: num.optional(),
  slots: num.optional(),
  detached: z.boolean().optional(),
});
