// A one-node Slurm cluster for the tests: Debian's slurm-wlm and munge, a
// generated munge key, a slurm.conf for localhost with this machine's CPUs,
// munged, slurmctld and slurmd in a temporary folder on free ports of
// 127.0.0.1; clients find it through SLURM_CONF. slurmd must run as root
// (it starts jobs as their users), so the cluster needs root. stop() kills
// the daemons and removes the folder.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';

export interface SlurmCluster {
  /** The environment the cluster's clients (sbatch, squeue, scancel) need: SLURM_CONF. */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client command; @returns its standard output. */
  run(cmd: string, args: string[]): string;
  /** The daemons' logs, for a failing test's message. */
  logs(): string;
  stop(): void;
}

const DAEMONS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'sinfo', 'scancel'];

/** Why no cluster can be started here, or undefined when one can. */
export function slurmUnavailable(): string | undefined {
  if (userInfo().uid !== 0) return 'slurmd runs as root, and the tests do not';
  const missing = DAEMONS.filter((d) => spawnSync('sh', ['-c', `command -v ${d} || test -x /usr/sbin/${d}`]).status !== 0);
  return missing.length ? `not installed: ${missing.join(', ')} (bash scripts/setup.sh installs Debian's slurm-wlm and munge)` : undefined;
}

const sbin = (d: string) => (existsSync(`/usr/sbin/${d}`) ? `/usr/sbin/${d}` : d);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startSlurm(): Promise<SlurmCluster> {
  const why = slurmUnavailable();
  if (why) throw new Error(`cannot start Slurm: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), 'evonas-slurm-'));
  chmodSync(dir, 0o755);
  for (const d of ['state', 'spool', 'munge']) mkdirSync(join(dir, d));
  chmodSync(join(dir, 'munge'), 0o755);
  const key = join(dir, 'munge', 'munge.key');
  writeFileSync(key, randomBytes(1024), { mode: 0o400 });
  const socket = join(dir, 'munge', 'munge.sock');
  const [ctld, slurmd] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=evonas',
      'SlurmctldHost=localhost(127.0.0.1)',
      `SlurmctldPort=${ctld}`,
      `SlurmdPort=${slurmd}`,
      'SlurmUser=root',
      'SlurmdUser=root',
      'AuthType=auth/munge',
      `AuthInfo=socket=${socket}`,
      'CredType=cred/munge',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'slurmd.log')}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'ReturnToService=2',
      'MpiDefault=none',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'KillWait=10',
      `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${availableParallelism()} RealMemory=${Math.floor(totalmem() / 2 ** 20 / 2)} State=UNKNOWN`,
      'PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const pids: number[] = [];
  // A daemon's pid file exists before it holds the pid: read it until it
  // does. An empty file read as a number is 0, and kill(0) signals the
  // caller's own process group (the test runner and whatever started it).
  const pidIn = (pidFile: string) => {
    const text = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '';
    return /^\d+$/.test(text) && Number(text) > 1 ? Number(text) : undefined;
  };
  const daemon = (cmd: string, args: string[], pidFile: string) => {
    const r = spawnSync(sbin(cmd), args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} did not start: ${(r.stderr || r.stdout).trim()}`);
    let pid = pidIn(pidFile);
    for (let i = 0; i < 100 && pid === undefined; i++) {
      execFileSync('sleep', ['0.1']);
      pid = pidIn(pidFile);
    }
    if (pid === undefined) throw new Error(`${cmd} wrote no pid to ${pidFile}`);
    pids.push(pid);
  };
  const logs = () =>
    ['munged.log', 'slurmctld.log', 'slurmd.log']
      .filter((f) => existsSync(join(dir, f)))
      .map((f) => `--- ${f}\n${readFileSync(join(dir, f), 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');
  const alive = (pid: number) => {
    if (!(pid > 1)) throw new Error(`refusing to signal pid ${pid}`); // never a process group, never init
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const stop = () => {
    // slurmd, then slurmctld, then munged; each gone (its files removed) before the folder is.
    for (const pid of [...pids].reverse()) {
      if (alive(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && alive(pid); i++) execFileSync('sleep', ['0.1']);
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  try {
    daemon(
      'munged',
      [
        '--force',
        `--socket=${socket}`,
        `--key-file=${key}`,
        `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
        `--log-file=${join(dir, 'munged.log')}`,
        `--seed-file=${join(dir, 'munge', 'munged.seed')}`,
      ],
      join(dir, 'munge', 'munged.pid'),
    );
    daemon('slurmctld', ['-f', conf], join(dir, 'slurmctld.pid'));
    daemon('slurmd', ['-f', conf, '-N', 'localhost'], join(dir, 'slurmd.pid'));
    const run = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout).trim()}`);
      return r.stdout;
    };
    for (let i = 0; ; i++) {
      const state = spawnSync('sinfo', ['-h', '-o', '%T'], { env, encoding: 'utf8' }).stdout.trim();
      if (/^idle/.test(state)) break;
      if (i > 100) throw new Error(`the node did not come up (sinfo: ${JSON.stringify(state)})\n${logs()}`);
      await sleep(200);
    }
    return { env, run, logs, stop };
  } catch (e) {
    const l = logs();
    stop();
    throw new Error(`${(e as Error).message}\n${l}`);
  }
}
