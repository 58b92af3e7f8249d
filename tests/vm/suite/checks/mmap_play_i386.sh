# shellcheck shell=bash
# The same, built with gcc -m32 (ossd-run's 32-bit library).
t_mmap_play_i386() { mmap_play mmap-play-i386 oss_mmap_i386 600 3 play; }
