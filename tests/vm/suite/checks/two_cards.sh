# shellcheck shell=bash
# Two cards: a second ossd plays to hw:Loopback,0,4 with the Dummy card as its
# fallback (--device twice). The Loopback card is unbound under a playing client:
# the mix moves to the Dummy card (the client exits 0), and back when the card is
# bound again; a client then is heard on hw:Loopback,1,4 at its pitch.
t_two_cards() {
  need_file "$ART/cards-4s.u8"
  local drv=/sys/bus/platform/drivers/snd_aloop pid log=$ART/two-cards.log cpid crc=0 rc=0 cap=$ART/two-cards.raw rpid
  grep -q Dummy /proc/asound/cards || die "no Dummy card (snd-dummy) in this guest: $(tr '\n' ' ' </proc/asound/cards)"
  spawn_ossd --device hw:Loopback,0,4 --device hw:Dummy,0 --dsp dsp-cards --mixer "" \
    --sndstat sndstat-cards --capture-device none "${OSSD_OPTS[@]}" 2>"$log" &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true" EXIT
  wait_for 10 test -c /dev/dsp-cards || die_with_log "$log" "/dev/dsp-cards did not appear within 10 s"
  wait_for 10 test -c /dev/sndstat-cards || die_with_log "$log" "/dev/sndstat-cards did not appear within 10 s"
  grep -q '^0: hw:Loopback,0,4 ' /dev/sndstat-cards || die "sndstat-cards does not show hw:Loopback,0,4: $(cat /dev/sndstat-cards)"
  timeout 30 sh -c 'exec cat "$1" > /dev/dsp-cards' cat "$ART/cards-4s.u8" &
  cpid=$!
  sleep 1
  timeout 10 sh -c "echo snd_aloop.0 > $drv/unbind" || die "unbind of snd_aloop.0 did not return within 10 s"
  wait_for 5 grep -q '^0: hw:Dummy,0 ' /dev/sndstat-cards || die_with_log "$log" "the mix did not move to hw:Dummy,0 within 5 s: $(head -n 4 /dev/sndstat-cards)"
  grep '^0: ' /dev/sndstat-cards
  grep 'failed (.*); playing on hw:Dummy,0 until it returns' "$log" || die_with_log "$log" "ossd logged no line that it plays on hw:Dummy,0"
  echo snd_aloop.0 >"$drv/bind"
  wait_for 5 grep -q Loopback /proc/asound/cards || die "the card is not back 5 s after the rebind"
  wait "$cpid" || crc=$?
  [ "$crc" -eq 0 ] || die_with_log "$log" "the client playing across the move exited with status $crc"
  wait_for 5 grep -q '^0: hw:Loopback,0,4 ' /dev/sndstat-cards || die_with_log "$log" "the mix did not move back to hw:Loopback,0,4 within 5 s of the rebind"
  grep 'is back after .*; playing on it instead of hw:Dummy,0' "$log" || die_with_log "$log" "ossd logged no line that the mix moved back"
  # The loopback's capture side takes what ossd chose (S32_LE: the card's widest).
  timeout 20 arecord -q -D hw:Loopback,1,4 -f S32_LE -r 48000 -c 2 -d 4 -t raw "$cap" 2>"$ART/two-cards.arecord" &
  rpid=$!
  sleep 0.5
  timeout 20 sh -c 'exec cat "$1" > /dev/dsp-cards' cat "$ART/cards-660.u8" || die_with_log "$log" "the client after the move back failed (exit status $?)"
  wait "$rpid" || rc=$?
  [ "$rc" -eq 0 ] || die "arecord on hw:Loopback,1,4 exited with status $rc: $(cat "$ART/two-cards.arecord")"
  judge "back on hw:Loopback,0,4" "$cap" --format s32le --freq 660 --seconds 1.0
  rc=0
  kill -TERM "$pid"
  timeout 5 tail --pid="$pid" -f /dev/null || die_with_log "$log" "still running 5 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$log" "exited with status $rc after SIGTERM, not 0"
}
