# shellcheck shell=bash
# Without ossd-run the same client is told no DSP_CAP_MMAP, and exits 0.
t_mmap_no_preload() {
  need_dsp
  need_bin oss_mmap
  local out
  out=$(timeout 20 "$BIN/oss_mmap" play 2>&1) || die "oss_mmap without ossd-run failed (exit status $?): $out"
  echo "$out"
  grep -q 'no DSP_CAP_MMAP' <<<"$out" || die "oss_mmap without ossd-run did not report 'no DSP_CAP_MMAP'"
}
