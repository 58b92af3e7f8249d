# shellcheck shell=bash
# The same, mapped PROT_READ|PROT_WRITE.
t_mmap_play_rw() { mmap_play mmap-play-rw oss_mmap 700 3 -w play; }
