# shellcheck shell=bash
# shellcheck source=tests/vm/suite/server.sh
. "$SUITE/server.sh"
# A busy card is a card that is not there, for now (issue 19): with alice's PulseAudio
# holding hw:Loopback,0,0, an ossd told --device hw:Loopback,0,0 --device hw:Dummy,0
# names the holder in its log and plays on the Dummy card; when PulseAudio ends, the
# mix moves to the loopback card (tried every 500 ms) and a client is heard there.
t_server_busy() {
  need_file "$ART/server-660.u8"
  local log=$ART/server-busy.log
  grep -q Dummy /proc/asound/cards || die "no Dummy card (snd-dummy) in this guest"
  pa_start
  srv_ossd server-busy --device hw:Loopback,0,0 --device hw:Dummy,0 --server none "${OSSD_OPTS[@]}"
  grep -E "output device hw:Loopback,0,0 is busy: held by pulseaudio \(pid $PA_PID, user alice\)" "$log" ||
    die_with_log "$log" "ossd did not name PulseAudio (pid $PA_PID, user alice) as the busy card's holder"
  wait_for 5 grep -q '^0: hw:Dummy,0 ' "/dev/sndstat-server-busy" || die_with_log "$log" "ossd does not play on hw:Dummy,0: $(srv_device server-busy)"
  srv_device server-busy
  pa_stop TERM
  wait_for 5 grep -q '^0: hw:Loopback,0,0 ' "/dev/sndstat-server-busy" ||
    die_with_log "$log" "the mix did not move to hw:Loopback,0,0 within 5 s of PulseAudio ending: $(srv_device server-busy)"
  grep 'is back after .*; playing on it instead of hw:Dummy,0' "$log" || die_with_log "$log" "ossd logged no line that it took the card"
  # The capture side takes what ossd chose for the card.
  local fmt
  fmt=$(srv_device server-busy | awk '{ print $4 }')
  timeout 20 arecord -q -D hw:Loopback,1,0 -f "$fmt" -r 48000 -c 2 -d 3 -t raw "$ART/server-busy.raw" 2>"$ART/server-busy.arecord" &
  local rpid=$! rc=0
  sleep 0.5
  play_to_dsp "$ART/server-660.u8" /dev/dsp-server-busy || die_with_log "$log" "the client on the freed card failed (exit status $?)"
  wait "$rpid" || rc=$?
  [ "$rc" -eq 0 ] || die "arecord on hw:Loopback,1,0 exited with status $rc: $(cat "$ART/server-busy.arecord")"
  judge "on the freed card" "$ART/server-busy.raw" --format "$(tr "[:upper:]" "[:lower:]" <<<"${fmt//_/}")" --freq 660 --seconds 1.0
  srv_ossd_stop "$log"
}
