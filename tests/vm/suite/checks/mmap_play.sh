# shellcheck shell=bash
# The games' client under ossd-run, 64-bit, PROT_WRITE: its 3 s tone comes back
# whole and at pitch.
t_mmap_play() { mmap_play mmap-play oss_mmap 500 3 play; }
