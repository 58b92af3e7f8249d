# shellcheck shell=bash
# A timer signal every millisecond while the copier runs: its handler write()s to a
# pipe and /dev/null and dup()s and close()s fds (one of them the mapped fd), while
# the main thread does the same between its GETOPTRs. The library must never
# deadlock (the program's watchdog ends it after 2 x SECONDS + 20 s) and the tone
# must come back whole.
t_mmap_signals() { mmap_play mmap-signals oss_mmap 575 2 signals; }
