# shellcheck shell=bash
# The same program built with gcc -m32: a 32-bit client of the plain API.
t_conformance_i386() { conformance_run oss_conformance_i386; }
