# shellcheck shell=bash
# OSS 4's sndkit synctest (issue 20): three opens in the default format (U8 8 kHz
# mono) join one sync group and each get 32 KiB of silence in one blocking write()
# before SNDCTL_DSP_SYNCSTART. Each write takes it all at once (a slow stream's
# buffer holds a 32 KiB preload), the group starts, and one more 32 KiB write each
# is taken as the group plays (about 4 s, all three at once).
t_sync_preload() {
  need_dsp
  need_bin oss_probe
  local out rc=0 ms
  out=$(timeout 60 "$BIN/oss_probe" preload -n 3 -b 32768 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -eq 0 ] || die "oss_probe preload failed (exit status $rc; 3: a write() hung)"
  [ "$(grep -c 'before SYNCSTART: write(32768) = 32768 after' <<<"$out")" -eq 3 ] ||
    die "not every preload write() took its 32768 bytes"
  # (No process substitution: the guest has no /dev/fd.)
  while read -r ms; do
    [ "$ms" -le 2000 ] || die "a preload write() took $ms ms (it should fit in the buffer at once)"
  done <<<"$(sed -n 's/.*before SYNCSTART: write(32768) = 32768 after \([0-9]*\) ms$/\1/p' <<<"$out")"
  [ "$(grep -c 'after SYNCSTART: write(32768) = 32768 after' <<<"$out")" -eq 3 ] ||
    die "a write() after SYNCSTART did not take its 32768 bytes"
}
