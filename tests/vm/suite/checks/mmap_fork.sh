# shellcheck shell=bash
# A forked child paints from the live pointer, another execs /bin/true with the fd
# inherited; the parent's pointer still moves after both exit (32-bit).
t_mmap_fork() { mmap_play mmap-fork oss_mmap_i386 900 1.5 fork; }
