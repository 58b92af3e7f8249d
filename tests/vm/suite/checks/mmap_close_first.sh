# shellcheck shell=bash
# The fd closed right after SETTRIGGER: the mapping plays on (a tone that loops
# seamlessly through the whole buffer) until munmap, and then ossd's client goes.
t_mmap_close_first() {
  need_dsp
  need_capture
  need_bin oss_mmap
  local out f
  begin_capture
  out=$(timeout 30 "$OSSD_RUN" "$BIN/oss_mmap" -f 1000 -s 1.5 close 2>&1) || die "ossd-run oss_mmap close failed (exit status $?): $out"
  echo "$out"
  end_capture mmap-close-first
  f=$(sed -n 's/.*: a \([0-9.]*\) Hz tone that loops.*/\1/p' <<<"$out")
  [ -n "$f" ] || die "oss_mmap printed no tone frequency"
  # it plays from SETTRIGGER to munmap (1.5 s of sleep; the program's own steps add a little)
  judge capture "$ART/mmap-close-first.raw" --freq "$f" --seconds 1.6 --tol-len 0.15
}
