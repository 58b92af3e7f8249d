# shellcheck shell=bash
# /dev/sndstat names the device, its playback side, and a playing client's pid and command.
t_sndstat() {
  need_dsp
  need_bin oss_write
  need_file "$ART/tone-2s.u8"
  local cpid line i
  "$BIN/oss_write" "$ART/tone-2s.u8" U8 8000 1 >"$ART/sndstat-client.log" 2>&1 &
  cpid=$!
  # shellcheck disable=SC2064 # cpid is fixed now
  trap "kill $cpid 2>/dev/null || true" EXIT
  for i in $(seq 30); do
    timeout 5 cat /dev/sndstat >"$ART/sndstat.txt" || die "cat /dev/sndstat failed (exit status $?)"
    grep -Eq "pid +$cpid " "$ART/sndstat.txt" && break
    sleep 0.1
  done
  echo "/dev/sndstat while oss_write (pid $cpid) plays, try $i:"
  sed 's/^/  /' "$ART/sndstat.txt"
  grep -Eq "${PLAY_DEV} +playback" "$ART/sndstat.txt" || die "/dev/sndstat has no line naming $PLAY_DEV as playback"
  line=$(grep -E "pid +$cpid " "$ART/sndstat.txt") || die "/dev/sndstat has no client line for pid $cpid"
  grep -q "(oss_write)" <<<"$line" || die "the client line does not name the command oss_write: $line"
  grep -qw play <<<"$line" || die "the client line does not say play: $line"
  timeout 10 tail --pid="$cpid" -f /dev/null || die "oss_write still running 10 s later"
  wait "$cpid" || die "oss_write failed (exit status $?): $(cat "$ART/sndstat-client.log")"
}
