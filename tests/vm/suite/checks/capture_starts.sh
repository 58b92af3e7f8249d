# shellcheck shell=bash
# The capture of what ossd plays: one arecord on hw:Loopback,1,0 for the whole run,
# started before ossd, so aloop locks both ends to S16_LE 48 kHz stereo. The checks
# cut their parts out of it (begin_capture/end_capture).
t_capture_starts() {
  timeout 900 arecord -q -D "$CAP_DEV" -f S16_LE -r 48000 -c 2 -t raw "$CAP" 2>"$ART/arecord.log" &
  echo $! >"$ART/arecord.pid"
  echo "$CAP $!" >"$ART/capture.now"
  wait_for 5 grep -q RUNNING "$CAP_STATUS" || die "arecord on $CAP_DEV not running after 5 s: $(cat "$ART/arecord.log")"
  echo "capturing $CAP_DEV S16_LE 48000 Hz 2ch to $CAP"
}
