# shellcheck shell=bash
# shellcheck source=tests/vm/suite/server.sh
. "$SUITE/server.sh"
# A sound server on another machine, over its TCP transport (issue 19): ossd
# --server tcp:127.0.0.1:4713 plays through alice's PulseAudio (module-native-
# protocol-tcp). 2 s take at most 3 s and are heard whole at pitch. Then the network
# drops (`ip link set lo down`) under a 4 s client: ossd notices within the server's
# buffer and 2 s, goes on with its stand-in clock (the client exits 0), and when the
# network is back it plays through the server again.
t_server_tcp() {
  need_file "$ART/server-2s.s16"
  need_file "$ART/server-4s.u8"
  need_file "$ART/server-660.u8"
  need_bin oss_write
  local log=$ART/server-tcp.log out ms cpid crc=0 t0
  pa_start
  srv_ossd server-tcp --server tcp:127.0.0.1:4713
  wait_for 5 grep -q '^0: server:tcp:127.0.0.1:4713 ' /dev/sndstat-server-tcp || die_with_log "$log" "ossd does not play through tcp:127.0.0.1:4713: $(srv_device server-tcp)"
  srv_capture_start server-tcp
  out=$(timeout 20 "$BIN/oss_write" -d /dev/dsp-server-tcp "$ART/server-2s.s16" S16_LE 48000 2) ||
    die_with_log "$log" "oss_write over TCP failed: $out"
  echo "$out"
  ms=$(awk '{ for (i = 1; i < NF; i++) if ($(i + 1) ~ /^ms,?$/) t += $i } END { print t + 0 }' <<<"$out")
  srv_capture_stop
  echo "2 s over TCP took $ms ms, open to close"
  [ "$ms" -le 3000 ] || die_with_log "$log" "2 s over TCP took $ms ms (at most 3000)"
  judge "over TCP" "$ART/server-tcp.raw" --freq 500 --seconds 2.0
  # The network drops under a client, and comes back.
  t0=$(now_ms)
  (
    t=$(now_ms)
    play_to_dsp "$ART/server-4s.u8" /dev/dsp-server-tcp || exit
    echo $(($(now_ms) - t)) >"$ART/server-tcp.client-ms"
  ) &
  cpid=$!
  sleep 1
  ip link set lo down
  wait_for 8 grep -q 'output device server:tcp:127.0.0.1:4713 failed' "$log" || { ip link set lo up; die_with_log "$log" "ossd did not notice the network dropping within 8 s"; }
  echo "noticed $(($(now_ms) - t0 - 1000)) ms after the drop: $(grep 'output device server:tcp:127.0.0.1:4713 failed' "$log" | tail -n 1)"
  ip link set lo up
  wait "$cpid" || crc=$?
  ms=$(cat "$ART/server-tcp.client-ms" 2>/dev/null || echo "?")
  echo "the 4 s client exited with status $crc after $ms ms"
  [ "$crc" -eq 0 ] || die_with_log "$log" "the client across the drop exited with status $crc"
  # Held up once by the drop (the server's buffer and 2 s, before ossd gives
  # up on it), then paced by the stand-in.
  [ "$ms" -le 9000 ] || die_with_log "$log" "the 4 s client took $ms ms across the drop (at most 9000)"
  wait_for 10 sh -c "grep -q 'is back after' '$log'" || die_with_log "$log" "ossd did not play through the server again within 10 s of the network's return"
  grep 'is back after' "$log"
  srv_capture_start server-tcp-back
  play_to_dsp "$ART/server-660.u8" /dev/dsp-server-tcp || die_with_log "$log" "the client after the network's return failed (exit status $?)"
  srv_capture_stop
  judge "over TCP again" "$ART/server-tcp-back.raw" --freq 660 --seconds 1.0
  srv_ossd_stop "$log"
  pa_stop TERM
}
