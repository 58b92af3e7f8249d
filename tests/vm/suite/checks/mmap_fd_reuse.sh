# shellcheck shell=bash
# Numbers of the mapped fd closed behind the library's table (close_range, fclose,
# a raw close) and taken by a pipe, a socket and another open of /dev/dsp: none is
# taken for the mapping; then everything above the fd is closed (close_range,
# closefrom) and the library's own fds stay, so the tone still plays.
t_mmap_fd_reuse() { mmap_play mmap-fd-reuse oss_mmap 625 1.5 reuse; }
