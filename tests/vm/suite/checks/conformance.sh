# shellcheck shell=bash
# tests/vm/oss_conformance/ against /dev/dsp, with recording on.
t_conformance() { conformance_run oss_conformance; }
