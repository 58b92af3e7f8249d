# shellcheck shell=bash
# The painter waits for each fragment with poll() (POLLOUT), then select(); a
# 32-bit program with large-file support (mmap64, open64, fcntl64).
t_mmap_poll() { mmap_play mmap-poll oss_mmap_i386lfs 650 2 -p play; }
