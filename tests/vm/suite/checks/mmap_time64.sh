# shellcheck shell=bash
# A 32-bit program built with _TIME_BITS=64: ioctl, fcntl and select are
# __ioctl_time64, __fcntl_time64 and __select64 there (dup mode, poll then select).
t_mmap_time64() {
  local sym
  need_bin oss_mmap_i386t64
  for sym in __ioctl_time64 __fcntl_time64 __select64; do
    nm -D --undefined-only "$BIN/oss_mmap_i386t64" | grep -qw "$sym" ||
      die "oss_mmap_i386t64 does not call $sym: the check would not test it"
  done
  mmap_play mmap-time64 oss_mmap_i386t64 675 1.5 -p dup
}
