import { describe, expect, it } from 'vitest';
import { sge } from '../../server/launchers/sge/system.js';
import { qsubLines, sgePoliteLines, sgeTime } from '../../server/launchers/sge/script.js';
import { slurm, slurmPoliteLines } from '../../server/launchers/slurm/system.js';
import { arrayScript } from '../../server/launchers/batch/script.js';
import { beginAt, isoLocal } from '../../server/launchers/batch/polite.js';

describe('Grid Engine job scripts', () => {
  it('writes h_rt as Grid Engine reads it', () => {
    expect(sgeTime(600)).toBe('0:10:00');
    expect(sgeTime('2h')).toBe('2:00:00');
    expect(sgeTime('1:30:00')).toBe('1:30:00');
    expect(() => sgeTime('soon')).toThrow(/resources\.h_rt must be seconds/);
  });

  it('maps resources to qsub options as Grid Engine users write them', () => {
    expect(qsubLines({ queue: 'all.q', pe: 'smp', slots: 4, h_rt: '1h', h_vmem: '2G', mem_free: '8G', project: 'p1', account: 'a1', holdJid: ['12', '13'], extra: ['#$ -m e', '-l gpu=1'] })).toEqual([
      '-q all.q', '-pe smp 4', '-l h_rt=1:00:00,h_vmem=2G,mem_free=8G', '-P p1', '-A a1', '-hold_jid 12,13', '-m e', '-l gpu=1',
    ]);
    expect(() => qsubLines({ slots: 4 })).toThrow(/give resources\.pe too/);
    expect(() => qsubLines({ queue: 'all.q; rm -rf ~' })).toThrow(/resources\.queue/);
    expect(() => qsubLines({ extra: ['-m e\n#$ -evil'] })).toThrow(/line break/);
  });

  it('maps the polite options to -a, -p, -l hostname and -l exclusive', () => {
    const now = new Date(2030, 0, 2, 20, 0, 0);
    expect(isoLocal(beginAt('22:00', now))).toBe('2030-01-02T22:00:00');
    expect(isoLocal(beginAt('19:00', now))).toBe('2030-01-03T19:00:00'); // passed today: tomorrow
    expect(isoLocal(beginAt('2h', now))).toBe('2030-01-02T22:00:00');
    expect(() => beginAt('soonish', now)).toThrow(/begin must be a time like '22:00'/);
    const lines = sgePoliteLines({ begin: new Date(2030, 0, 2, 22, 0, 5), nice: 100, nodelist: ['n1', 'n2'], exclude: ['n3'], exclusive: true });
    expect(lines).toEqual(['-a 203001022200.05', '-p -100', '-l hostname=(n1|n2)&!(n3)', '-l exclusive=true']);
    expect(slurmPoliteLines({ begin: new Date(2030, 0, 2, 22, 0, 5), nice: 100, nodelist: ['n1', 'n2'], exclude: ['n3'], exclusive: true })).toEqual([
      '--begin=2030-01-02T22:00:05', '--nice=100', '--nodelist=n1,n2', '--exclude=n3', '--exclusive',
    ]);
  });

  it('numbers array elements from 1 (SGE_TASK_ID) and gives each its credentials on stdin', () => {
    const creds = [0, 1].map((i) => ({ agentId: `a${i}`, secretKey: `SECRET-${i}`, controllerKey: 'K', url: 'ws://x/agent' }));
    const s = arrayScript({ header: sge.header({ name: 'flotilla-p', workDir: '/w', resources: { resources: { h_rt: 60 }, polite: {} } }), element: sge.element, nodeCmd: 'node', bundle: '"$HOME/b.mjs"', credentials: creds });
    expect(s).toContain('#$ -N flotilla-p\n#$ -o /w/flotilla-p-$JOB_ID.$TASK_ID.log\n#$ -j y\n#$ -S /bin/bash\n#$ -w e\n#$ -l h_rt=0:01:00');
    expect(s).toContain('case "${SGE_TASK_ID:-1}" in');
    for (const [i, c] of creds.entries()) expect(s).toContain(`  ${i + 1}) exec node "$HOME/b.mjs" --detached <<'FLOTILLA_CREDENTIALS'\n${JSON.stringify(c)}\nFLOTILLA_CREDENTIALS`);
    for (const line of s.split('\n')) if (line.includes('SECRET-')) expect(line.startsWith('{')).toBe(true);
    expect(sge.elementKey('12', 0)).toBe('12.1');
    expect(sge.logPath('/w', 'flotilla-p', '12', 1)).toBe('/w/flotilla-p-12.2.log');
    expect(sge.cancelCommand(['12.1', '13'])).toBe('qdel 12 -t 1; qdel 13');
    expect(slurm.elementKey('12', 0)).toBe('12_0');
  });
});
