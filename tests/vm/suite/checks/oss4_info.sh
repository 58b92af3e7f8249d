# shellcheck shell=bash
# The OSS 4 info calls on a read-only file (issue 20): SNDCTL_ENGINEINFO and
# AUDIOINFO with dev -1 describe an input engine (PCM_CAP_INPUT, iformats, the rates
# as FREERATE with min_rate..max_rate, channels, busy OPEN_READ), as they describe
# the output engine to a write-only one.
t_oss4_info() {
  need_dsp
  need_bin oss_probe
  local out
  out=$(timeout 20 "$BIN/oss_probe" info 2>&1) || die "$(grep -v '^[OI]' <<<"$out" | tail -n 3 | tr '\n' ' ')"
  echo "$out"
}
