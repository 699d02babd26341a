import { describe, expect, it } from 'vitest';
import { batchScript, sbatchLines, slurmTime } from '../../server/launchers/slurm/script.js';
import { resolveResources } from '../../server/launchers/slurm/launcher.js';

describe('SLURM batch scripts', () => {
  it('writes times as SLURM reads them', () => {
    expect(slurmTime(90)).toBe('90');
    expect(slurmTime('2h')).toBe('02:00:00');
    expect(slurmTime('30m')).toBe('00:30:00');
    expect(slurmTime('1d')).toBe('1-00:00:00');
    expect(slurmTime('1-02:03:04')).toBe('1-02:03:04');
    expect(() => slurmTime('soon')).toThrow(/resources\.time must be minutes/);
  });

  it('maps resources to #SBATCH options as SLURM users write them', () => {
    expect(
      sbatchLines({ partition: 'compute', time: '2h', mem: '8G', memPerCpu: '2G', cpusPerTask: 4, nodes: 1, ntasks: 1, gres: 'gpu:1', gpus: 1, account: 'proj-123', qos: 'high', constraint: 'avx2', exclusive: true, extra: ['#SBATCH --mail-type=END', '--hint=nomultithread'] }),
    ).toEqual([
      '--partition=compute', '--time=02:00:00', '--mem=8G', '--mem-per-cpu=2G', '--cpus-per-task=4', '--nodes=1', '--ntasks=1',
      '--gres=gpu:1', '--gpus=1', '--account=proj-123', '--qos=high', '--constraint=avx2', '--exclusive', '--mail-type=END', '--hint=nomultithread',
    ]);
    expect(() => sbatchLines({ extra: ['--x\n#SBATCH --evil'] })).toThrow(/line break/);
  });

  it('writes a site profile once and lets the pool override it', () => {
    const r = resolveResources({ launcher: 'slurm', profile: 'site', profiles: { site: { partition: 'compute', account: 'proj', time: '1h', extra: ['--a'] } }, resources: { time: '2h', extra: ['--b'] } });
    expect(r).toEqual({ partition: 'compute', account: 'proj', time: '2h', extra: ['--a', '--b'] });
    expect(() => resolveResources({ launcher: 'slurm', profile: 'nope' })).toThrow(/SLURM profile "nope" is not in profiles/);
  });

  it('gives each array element its credentials on stdin, never in argv', () => {
    const creds = [0, 1].map((i) => ({ agentId: `a${i}`, secretKey: `SECRET-${i}`, controllerKey: 'K', url: 'ws://x/agent' }));
    const s = batchScript({ name: 'flotilla-p', logPattern: '/w/%A_%a.log', resources: { time: 5 }, setup: 'module load nodejs/20', nodeCmd: 'node', bundle: '"$HOME/b.mjs"', credentials: creds });
    expect(s).toContain('#SBATCH --job-name=flotilla-p\n#SBATCH --output=/w/%A_%a.log\n#SBATCH --time=5');
    for (const [i, c] of creds.entries()) {
      expect(s).toContain(`  ${i}) module load nodejs/20 && exec node "$HOME/b.mjs" --detached <<'FLOTILLA_CREDENTIALS'\n${JSON.stringify(c)}\nFLOTILLA_CREDENTIALS`);
    }
    // The secret is only ever inside a quoted heredoc: no line puts it on a command line.
    for (const line of s.split('\n')) if (line.includes('SECRET-')) expect(line.startsWith('{')).toBe(true);
  });
});

describe('SLURM pool options as the issue writes them', () => {
  it("takes max and idleTimeout: '5m'", async () => {
    const { planPools } = await import('../../server/pool-options.js');
    const plan = planPools({ hpc: { launcher: 'slurm', max: 64, idleTimeout: '5m', resources: { cpusPerTask: 4 } } }).hpc!;
    expect(plan).toMatchObject({ agents: 64, idleTimeoutMs: 300_000, slots: 4 });
    expect(() => planPools({ hpc: { launcher: 'slurm', idleTimeout: 'soon' } })).toThrow(/pools\.hpc\.idleTimeout must be a duration like '5m'/);
  });
});
