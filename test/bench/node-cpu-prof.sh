#!/bin/sh
# Runs node with a CPU profile written at exit: the "node binary" of agents in a profiled
# benchmark run (Node 20 refuses --cpu-prof in NODE_OPTIONS). Worker threads (lanes) get their
# own profile file. BENCH_NODE and BENCH_CPU_PROF_DIR come from the pool's env.
exec "${BENCH_NODE:-node}" --cpu-prof --cpu-prof-interval=100 --cpu-prof-dir="${BENCH_CPU_PROF_DIR:-.}" "$@"
