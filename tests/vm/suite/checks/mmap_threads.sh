# shellcheck shell=bash
# Three more threads call GETOPTR, GETODELAY, GETOSPACE and GETCAPS meanwhile.
t_mmap_threads() { mmap_play mmap-threads oss_mmap 550 1.5 -t 3 play; }
