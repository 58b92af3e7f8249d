# shellcheck shell=bash
# shellcheck source=tests/vm/suite/server.sh
. "$SUITE/server.sh"
# A desktop's sound server holds the card (issue 19): alice's PulseAudio plays to
# hw:Loopback,0,0. ossd started as root with no --device finds it, says so in one line,
# runs as alice and plays through it: at most one device underrun in its first second,
# 2 s of a client's tone within 3 s (open to close), heard whole and at its pitch on
# the card's capture side.
t_server_auto() {
  need_file "$ART/server-2s.s16"
  need_bin oss_write
  local log=$ART/server-auto.log u out ms
  pa_start
  srv_capture_start server-auto
  srv_ossd server-auto
  sleep 1
  u=$(srv_underruns server-auto)
  srv_device server-auto
  grep -E "alice's sound server \(pulseaudio, pid $PA_PID\) runs: playing through it, as alice" "$log" ||
    die_with_log "$log" "ossd did not say that it plays through alice's sound server (pid $PA_PID)"
  grep -q "^Uid:[[:space:]]*${SRV_UID}[[:space:]]" "/proc/$SRV_OSSD/status" ||
    die "ossd does not run as alice: $(grep '^Uid:' "/proc/$SRV_OSSD/status")"
  srv_device server-auto | grep -q "^0: server:unix:$SRV_SOCK " || die "ossd does not play through $SRV_SOCK: $(srv_device server-auto)"
  echo "device underruns in ossd's first second: $u"
  [ "${u:-9}" -le 1 ] || die_with_log "$log" "$u device underruns in ossd's first second through the server (at most 1)"
  out=$(timeout 20 "$BIN/oss_write" -d /dev/dsp-server-auto "$ART/server-2s.s16" S16_LE 48000 2) ||
    die_with_log "$log" "oss_write through the server failed: $out"
  echo "$out"
  ms=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^ms,?$/) t += $i } END { print t + 0 }' <<<"$out")
  echo "2 s through the server took $ms ms, open to close"
  srv_capture_stop
  [ "$ms" -le 3000 ] || die_with_log "$log" "2 s through the server took $ms ms (at most 3000)"
  judge "through PulseAudio" "$ART/server-auto.raw" --freq 500 --seconds 2.0
  srv_device server-auto
  srv_ossd_stop "$log"
}
