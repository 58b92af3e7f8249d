# shellcheck shell=bash
# The mapped buffer as the recording side: the source's tone is in it, at pitch.
t_mmap_record() {
  need_dsp
  need_source
  need_bin oss_mmap
  local out
  begin_record
  out=$(timeout 30 "$OSSD_RUN" "$BIN/oss_mmap" -r 48000 -s 1.5 -o "$ART/mmap-record.s16" record 2>&1) ||
    die "ossd-run oss_mmap record failed (exit status $?): $out"
  echo "$out"
  end_record
  judge recording "$ART/mmap-record.s16" --freq "$SRC_FREQ" --seconds 1.5 --tol-len 0.03
}
