# shellcheck shell=bash
# A device that does not exist is waited for (issue 11): ossd serves its node on a
#    stand-in clock, a client plays to it without an error, SIGTERM exits 0. A busy
#    device is one that is not there for now (issue 19): with the recording source's
#    aplay holding $SRC_DEV, ossd names the holder in its log and serves its node, on
#    a stand-in clock, until the device is free. A device that is there and refuses
#    (hw:Loopback,0,5 asked for MU_LAW, which snd-aloop lacks) is a non-zero exit with
#    a message, no node left behind.
t_bad_device_fails() {
  local rc=0 pid log=$ART/absent-device.log ms
  spawn_ossd --device hw:9,0 --dsp dsp-absent --audio "" --mixer "" --sndstat "" --capture-device none "${OSSD_OPTS[@]}" 2>"$log" &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true" EXIT
  wait_for 10 test -c /dev/dsp-absent || die_with_log "$log" "ossd --device hw:9,0 made no /dev/dsp-absent within 10 s"
  grep -q 'waiting for the card' "$log" || die_with_log "$log" "ossd --device hw:9,0 did not say it waits for the card"
  ms=$(now_ms)
  timeout 10 sh -c 'exec cat "$1" > /dev/dsp-absent' cat "$ART/tone-500.u8" || die_with_log "$log" "cat to the stand-in failed (exit status $?)"
  echo "1 s played to the stand-in clock in $(($(now_ms) - ms)) ms"
  kill -TERM "$pid"
  timeout 5 tail --pid="$pid" -f /dev/null || die_with_log "$log" "still running 5 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$log" "exited with status $rc after SIGTERM, not 0"
  grep 'absent' "$log" | head -n 1
  rc=0
  need_source
  log=$ART/busy-device.log
  spawn_ossd --device "$SRC_DEV" --dsp dsp-busy --audio "" --mixer "" --sndstat "" --capture-device none "${OSSD_OPTS[@]}" 2>"$log" &
  pid=$!
  # shellcheck disable=SC2064
  trap "kill -KILL $pid 2>/dev/null || true" EXIT
  wait_for 10 test -c /dev/dsp-busy || die_with_log "$log" "ossd --device $SRC_DEV (busy) made no /dev/dsp-busy within 10 s"
  grep -E "output device $SRC_DEV is busy: held by aplay \(pid [0-9]+, user root\)" "$log" ||
    die_with_log "$log" "ossd did not name aplay as the holder of $SRC_DEV"
  kill -TERM "$pid"
  timeout 5 tail --pid="$pid" -f /dev/null || die_with_log "$log" "still running 5 s after SIGTERM"
  wait "$pid" || rc=$?
  [ "$rc" -eq 0 ] || die_with_log "$log" "exited with status $rc after SIGTERM, not 0"
  rc=0
  timeout 10 "$OSSD" --device hw:Loopback,0,5 --format MU_LAW --dsp dsp-bad --audio "" --mixer "" --sndstat "" "${OSSD_OPTS[@]}" >"$ART/bad-device.out" 2>"$ART/bad-device.err" || rc=$?
  [ "$rc" -ne 124 ] || die "ossd --device hw:Loopback,0,5 --format MU_LAW still running after 10 s"
  [ "$rc" -ne 0 ] || die "ossd --device hw:Loopback,0,5 --format MU_LAW exited 0"
  grep -q 'format MU_LAW refused' "$ART/bad-device.err" || die "ossd did not say that the device refused MU_LAW: $(tail -n 3 "$ART/bad-device.err")"
  [ ! -e /dev/dsp-bad ] || die "/dev/dsp-bad left behind"
  echo "refusing device: exit status $rc, stderr ($(wc -l <"$ART/bad-device.err") lines), last: $(tail -n 1 "$ART/bad-device.err")"
}
