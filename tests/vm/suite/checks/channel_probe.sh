# shellcheck shell=bash
# Cygwin's /dev/dsp test (winsup/testsuite/winsup.api/devdsp.c) raises
# SNDCTL_DSP_CHANNELS 1, 2, 3, ... until the driver refuses (issue 20): ossd refuses
# 129 with EINVAL, as the kernel's snd-pcm-oss does (see probe_kernel), and keeps
# the 8 channels in effect. A driver that never refuses keeps the test running.
t_channel_probe() {
  need_dsp
  need_bin oss_probe
  local out rc=0
  out=$(timeout 60 "$BIN/oss_probe" channels 2>&1) || rc=$?
  echo "$out"
  [ "$rc" -ne 124 ] || die "SNDCTL_DSP_CHANNELS still accepted after 60 s of raising the count"
  [ "$rc" -eq 0 ] || die "oss_probe channels failed (exit status $rc)"
  grep -q '^channels: 1\.\.128 accepted .*; 129 refused: .*(EINVAL)' <<<"$out" ||
    die "the count was not refused at 129 with EINVAL"
  grep -q '; 8 channel(s) in effect$' <<<"$out" || die "after the refusal the count in effect is not 8"
}
