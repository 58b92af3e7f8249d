# shellcheck shell=bash
# Two such streams started in the same engine period (both queued with the trigger
# off, then both triggers set back to back) sum exactly, sample by sample.
t_exact_sum() {
  need_dsp
  need_capture
  need_bin oss_write
  need_file "$ART/sum-a.s16"
  need_file "$ART/sum-b.s16"
  local out
  begin_capture
  timeout 20 "$BIN/oss_write" -p "$ART/sum-b.s16" "$ART/sum-a.s16" S16_LE 48000 2 ||
    die "oss_write -p sum-b.s16 sum-a.s16 failed (exit status $?)"
  end_capture exact-sum
  out=$(pcmcheck sum "$ART/sum-a.s16" "$ART/sum-b.s16" "$ART/exact-sum.raw" 2>&1) || die "capture: ${out#FAIL: }"
  echo "$out"
}
