# shellcheck shell=bash
# ossd ctl device: the mix moves from hw:Loopback,0,5 to the Dummy card under a
# playing client, which exits 0; sndstat and ossd status then name hw:Dummy,0.
t_ctl_device() {
  need_file "$ART/cards-4s.u8"
  local log=$ART/ctl-device.log sock=/run/ossd-vmtest/ctl-device.sock cpid crc=0 out
  grep -q Dummy /proc/asound/cards || die "no Dummy card (snd-dummy) in this guest"
  ctl_ossd ctl-device 5
  # shellcheck disable=SC2064
  trap "kill -KILL $CTL_PID 2>/dev/null || true" EXIT
  grep -q '^0: hw:Loopback,0,5 ' /dev/sndstat-ctl-device || die "sndstat does not show hw:Loopback,0,5: $(cat /dev/sndstat-ctl-device)"
  timeout 30 sh -c 'exec cat "$1" > /dev/dsp-ctl-device' cat "$ART/cards-4s.u8" &
  cpid=$!
  sleep 1
  out=$(timeout 10 "$OSSD" ctl --socket "$sock" device hw:Dummy,0 2>&1) || die_with_log "$log" "ossd ctl device hw:Dummy,0 failed: $out"
  echo "ossd ctl device hw:Dummy,0: $out"
  grep -q '^0: hw:Dummy,0 ' /dev/sndstat-ctl-device || die_with_log "$log" "sndstat does not name hw:Dummy,0 after the switch: $(head -n 4 /dev/sndstat-ctl-device)"
  grep '^0: ' /dev/sndstat-ctl-device
  wait "$cpid" || crc=$?
  [ "$crc" -eq 0 ] || die_with_log "$log" "the client playing across the switch exited with status $crc"
  out=$(timeout 10 "$OSSD" status --socket "$sock") || die "ossd status failed"
  grep -q '^playback hw:Dummy,0 ' <<<"$out" || die "ossd status does not name hw:Dummy,0: $out"
  grep 'the mix moves to output device hw:Dummy,0' "$log" || die_with_log "$log" "ossd logged no line that the mix moved"
  out=$(timeout 10 "$OSSD" ctl --socket "$sock" device hw:NoSuchCard,0 2>&1) && die "a switch to hw:NoSuchCard,0 succeeded: $out"
  echo "ossd ctl device hw:NoSuchCard,0: $out"
  grep -q 'stays on hw:Dummy,0' <<<"$out" || die "the failed switch does not say the mix stays: $out"
  ctl_stop "$log"
  echo "the client exited 0 across the switch; sndstat and ossd status name hw:Dummy,0"
}
