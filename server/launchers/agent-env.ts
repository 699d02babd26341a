/**
 * The environment an agent started from this process gets: an allow-list of what a shell, Node,
 * task code and the tools it runs need, never the controller's whole environment. Whoever can
 * submit a task can read its agent's environment, so the controller's own secrets
 * (FLOTILLA_TOKEN, FLOTILLA_SSH_PASSPHRASE, cloud keys...) must not be in it. A pool's `env`
 * adds what its tasks need beyond this list.
 */

/** Names kept as they are. */
const NAMES = new Set([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PWD', 'LANG', 'LANGUAGE', 'TZ', 'TERM', 'TMPDIR', 'TEMP', 'TMP',
  'http_proxy', 'https_proxy', 'no_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'ALL_PROXY',
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS', 'NODE_PATH', 'REQUESTS_CA_BUNDLE',
  'LD_LIBRARY_PATH', 'LIBRARY_PATH', 'CPATH', 'PKG_CONFIG_PATH', 'MANPATH', 'JAVA_HOME',
  'VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME', 'R_HOME', 'R_LIBS', 'R_LIBS_USER',
  'MODULEPATH', 'MODULESHOME', 'LOADEDMODULES', '_LMFILES_',
  'FLOTILLA_CACHE_DIR', 'FLOTILLA_DEBUG',
  'MC_CORES',
]);

/** Prefixes kept: locale, XDG folders, module systems and conda, GPUs, thread counts, batch systems (where their commands find their cluster). */
const PREFIXES = [
  'LC_', 'XDG_', 'LMOD', '_LMOD', 'BASH_FUNC_', 'CONDA', 'CUDA_', 'NVIDIA_', 'ROCR_', 'HIP_',
  'OMP_', 'MKL_', 'OPENBLAS_', 'BLIS_', 'VECLIB_', 'NUMEXPR_', 'RAYON_', 'JULIA_', 'POLARS_',
  'SLURM_', 'SBATCH_', 'SGE_',
];

/** Whether a variable of the controller's environment goes to agents. */
export function keptForAgents(name: string): boolean {
  return NAMES.has(name) || PREFIXES.some((p) => name.startsWith(p));
}

/**
 * The allow-listed part of `from` (this process's environment by default), with `extra` (a
 * pool's `env`) over it.
 */
export function agentEnvironment(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(from)) if (v !== undefined && keptForAgents(k)) env[k] = v;
  return { ...env, ...extra };
}
