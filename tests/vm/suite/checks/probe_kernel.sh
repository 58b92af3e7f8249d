# shellcheck shell=bash
# The same probes against the kernel's own OSS emulation (snd-pcm-oss on the loopback
# card), the reference for what a Linux OSS program expects; docs/ioctls.md quotes
# what it answers, and this check keeps that true. Needs ossd's /dev/dsp gone (the
# kernel's takes the name): it runs last (tests/vm/suite/order), and stops the main
# ossd if it still runs (with --only). The modules are unloaded afterwards.
t_probe_kernel() {
  need_bin oss_probe
  local out rc=0 free n
  if ossd_alive; then
    kill -TERM "$(cat "$ART/ossd.pid")"
    wait_for 5 test ! -e /dev/dsp || die "the main ossd's /dev/dsp still there 5 s after SIGTERM"
  fi
  # shellcheck disable=SC2064
  trap 'rmmod snd-pcm-oss snd-mixer-oss 2>/dev/null || true' EXIT
  modprobe snd-pcm-oss || die "modprobe snd-pcm-oss failed"
  wait_for 5 test -c /dev/dsp || die "the kernel's /dev/dsp did not appear"
  ls -l /dev/dsp /dev/audio
  out=$(timeout 60 "$BIN/oss_probe" channels 2>&1) || die "kernel: oss_probe channels failed: $out"
  echo "kernel: $out"
  grep -q '; 129 refused: .*(EINVAL)' <<<"$out" || die "kernel: CHANNELS not refused at 129 with EINVAL (update docs/ioctls.md)"
  out=$(timeout 60 "$BIN/oss_probe" -d /dev/audio space 2>&1) || die "kernel: oss_probe -d /dev/audio space failed: $out"
  echo "kernel /dev/audio: $out"
  grep -q '^as opened: MU_LAW 8000 Hz 1 ch:' <<<"$out" || die "kernel: /dev/audio does not start MU_LAW 8000 Hz mono"
  out=$(timeout 60 "$BIN/oss_probe" space U8 8000 1 S16_LE 48000 2 2>&1) || die "kernel: oss_probe space failed: $out"
  awk '{ print "kernel: " $0 }' <<<"$out"
  # It returns what fitted, at once or after ALSA's 10 s timeout (oss_probe's
  # exit status 1); it must not hang (3).
  out=$(timeout 60 "$BIN/oss_probe" gated 2>&1) || rc=$?
  awk '{ print "kernel: " $0 }' <<<"$out"
  [ "$rc" -le 1 ] || die "kernel: oss_probe gated failed (exit status $rc)"
  free=$(sed -n 's/^gated: GETOSPACE .*, \([0-9]*\) B free$/\1/p' <<<"$out" | head -n 1)
  n=$(sed -n 's/^gated, output triggered off: write([0-9]*) = \([0-9]*\) after [0-9]* ms$/\1/p' <<<"$out")
  { [ -n "$n" ] && [ "$n" = "$free" ]; } || die "kernel: the gated write() did not return what fitted ($free)"
  out=$(timeout 60 "$BIN/oss_probe" info 2>&1) && die "kernel: the OSS 4 info calls answered (update docs/ioctls.md): $out"
  awk '{ print "kernel: " $0 }' <<<"$out"
  grep -q 'SNDCTL_ENGINEINFO(-1): Invalid argument' <<<"$out" || die "kernel: SNDCTL_ENGINEINFO did not fail with EINVAL"
  out=$(timeout 60 "$BIN/oss_probe" preload 2>&1) && die "kernel: SNDCTL_DSP_SYNCGROUP answered (update docs/ioctls.md): $out"
  echo "kernel: $out"
}
