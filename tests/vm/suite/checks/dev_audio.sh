# shellcheck shell=bash
# /dev/audio, the Sun-compatible node (issue 20): a fresh open is 8 kHz mono mu-law
# (as the kernel's own /dev/audio: probe_kernel), and `cat tone-500.au > /dev/audio`
# (a Sun .au file made by sox: its header is played as sound too, as the drivers
# did) comes back as 1 s of 500 Hz, mixed to the same device as /dev/dsp.
t_dev_audio() {
  need_dsp
  need_capture
  need_bin oss_probe
  need_file "$ART/tone-500.au"
  local out
  [ -c /dev/audio ] || die "/dev/audio is not a character device"
  out=$(timeout 20 "$BIN/oss_probe" -d /dev/audio space 2>&1) || die "oss_probe -d /dev/audio space failed: $out"
  echo "$out"
  grep -q '^as opened: MU_LAW 8000 Hz 1 ch:' <<<"$out" || die "a fresh open of /dev/audio is not MU_LAW 8000 Hz mono"
  begin_capture
  play_to_dsp "$ART/tone-500.au" /dev/audio || die "cat tone-500.au > /dev/audio failed (exit status $?)"
  end_capture dev-audio
  judge capture "$ART/dev-audio.raw" --freq 500 --seconds 1.0
}
