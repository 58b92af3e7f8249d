# shellcheck shell=bash
# The pointer read through a dup2 of an fcntl(F_DUPFD) of a dup of the fd, the
# others closed (oss_mmap dup).
t_mmap_dup() { mmap_play mmap-dup oss_mmap 800 1.5 dup; }
