# shellcheck shell=bash
# A program that writes normally is untouched by the library: still bit-exact.
t_mmap_write_bitexact() {
  need_dsp
  need_capture
  need_bin oss_write
  need_file "$ART/noise.s16"
  local out
  begin_capture
  timeout 20 "$OSSD_RUN" "$BIN/oss_write" "$ART/noise.s16" S16_LE 48000 2 || die "ossd-run oss_write noise.s16 failed (exit status $?)"
  end_capture mmap-write-bitexact
  out=$(wavtool bitexact "$ART/noise.s16" "$ART/mmap-write-bitexact.raw" --frame-bytes 4 2>&1) || die "capture: ${out#bitexact: FAIL: }"
  echo "$out"
}
