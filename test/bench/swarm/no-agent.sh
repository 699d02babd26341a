#!/bin/sh
# The swarm pool's launcher command: the swarm's connections are its agents, so an agent the
# pool launches on its own holds its lifeline (stdin) and never dials.
exec cat > /dev/null
