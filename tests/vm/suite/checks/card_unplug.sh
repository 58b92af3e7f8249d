# shellcheck shell=bash
# The card is unplugged under a playing client (issue 11): snd_aloop is unbound as a
# USB card is pulled, and bound again 2 s later. The client (6 s of 500 Hz) exits 0,
# ossd stays up and logs one line when the card goes and one when it is back, sndstat
# says "missing" meanwhile, and a client started after the card is back is heard on
# it at its pitch. Prints the stand-in's pace, and the time from the rebind to the
# "back" line and to the first sound of a client started at the rebind. The suite's
# arecord dies at the unbind: it is restarted into capture-replug.raw (the runner
# then points CAP and CAP_PID at it, for the checks after this one).
t_card_unplug() {
  need_dsp
  need_file "$ART/unplug-6s.u8"
  local drv=/sys/bus/platform/drivers/snd_aloop cpid bpid rpid crc=0 t_bind t_run t_back first ms lines lost lost2
  lines=$(wc -l <"$ART/ossd.log")
  play_to_dsp "$ART/unplug-6s.u8" &
  cpid=$!
  # A reader across the unplug: it gets silence while the card is away, never an error.
  need_bin oss_read
  timeout 30 "$BIN/oss_read" "$ART/unplug-read.raw" S16_LE 48000 2 6 2>"$ART/unplug-read.err" &
  rpid=$!
  sleep 1
  kill -0 "$cpid" 2>/dev/null || die "the client ended before the unplug"
  kill -0 "$rpid" 2>/dev/null || die "the reader ended before the unplug: $(cat "$ART/unplug-read.err")"
  ms=$(now_ms)
  # The unbind returns once every open PCM of the card is closed (ossd's too).
  timeout 10 sh -c "echo snd_aloop.0 > $drv/unbind" || die "unbind of snd_aloop.0 did not return within 10 s (is ossd holding the card?)"
  echo "unbound in $(($(now_ms) - ms)) ms; cards: $(tr '\n' ' ' </proc/asound/cards)"
  sleep 2
  ossd_alive || die "ossd $(ossd_status) after the unplug"
  tail -n +"$((lines + 1))" "$ART/ossd.log" | grep 'playing on a stand-in clock until it returns' || die "ossd logged no line that the device went"
  grep 'missing' /dev/sndstat || die "/dev/sndstat does not say the device is missing"
  # The stand-in's pace: the frames it took in one second.
  lost=$(sed -n 's/^Lost while the device was missing: \([0-9]*\) .*/\1/p' /dev/sndstat)
  ms=$(now_ms)
  sleep 1
  lost2=$(sed -n 's/^Lost while the device was missing: \([0-9]*\) .*/\1/p' /dev/sndstat)
  echo "stand-in pace: $((lost2 - lost)) frames in $(($(now_ms) - ms)) ms"
  echo snd_aloop.0 >"$drv/bind"
  t_bind=$(now_ms)
  wait_for 5 grep -q Loopback /proc/asound/cards || die "the card is not in /proc/asound/cards 5 s after the rebind"
  echo "rebind -> card listed in /proc/asound/cards: $(($(now_ms) - t_bind)) ms: $(grep Loopback /proc/asound/cards)"
  CAP=$ART/capture-replug.raw
  timeout 900 arecord -q -D "$CAP_DEV" -f S16_LE -r 48000 -c 2 -t raw "$CAP" 2>"$ART/arecord.log" &
  CAP_PID=$!
  echo "$CAP_PID" >"$ART/arecord.pid"
  echo "$CAP $CAP_PID" >"$ART/capture.now"
  wait_for 5 grep -q RUNNING "$CAP_STATUS" || die "arecord on $CAP_DEV not running 5 s after the rebind: $(cat "$ART/arecord.log")"
  t_run=$(($(now_ms) - t_bind))
  # A client that starts playing as soon as the card is there again: its first
  # sound in the capture is the time from the rebind to sound.
  play_to_dsp "$ART/unplug-6s.u8" &
  bpid=$!
  wait_for 5 sh -c "tail -n +$((lines + 1)) '$ART/ossd.log' | grep -q 'is back after'" || die "ossd logged no 'is back' line within 5 s of the rebind"
  t_back=$(($(now_ms) - t_bind))
  tail -n +"$((lines + 1))" "$ART/ossd.log" | grep 'is back after'
  wait "$cpid" || crc=$?
  [ "$crc" -eq 0 ] || die "the client playing across the unplug exited with status $crc"
  wait "$bpid" || crc=$?
  [ "$crc" -eq 0 ] || die "the client started at the rebind exited with status $crc"
  wait "$rpid" || crc=$?
  [ "$crc" -eq 0 ] || die "the reader across the unplug exited with status $crc: $(cat "$ART/unplug-read.err")"
  [ "$(stat -c %s "$ART/unplug-read.raw")" -eq $((6 * 48000 * 4)) ] ||
    die "the reader across the unplug got $(stat -c %s "$ART/unplug-read.raw") bytes, not $((6 * 48000 * 4))"
  echo "the reader across the unplug read its 6 s: $(tail -n +"$((lines + 1))" "$ART/ossd.log" | grep -c 'capture device .* failed') capture-gone line(s) logged"
  ossd_alive || die "ossd $(ossd_status) after the card came back"
  first=$(cmp "$CAP" /dev/zero 2>/dev/null | sed -n 's/.* differ: [a-z]* \([0-9]*\),.*/\1/p')
  [ -n "$first" ] || die "nothing was captured after the card came back"
  echo "rebind -> capture running: $t_run ms; -> 'back' line seen: $t_back ms (polled every 0.1 s);" \
    "-> first sound captured: $((t_run + (first - 1) / 192)) ms (capture start + its leading silence)"
  begin_capture
  play_to_dsp "$ART/tone-500.u8" || die "cat tone-500.u8 > /dev/dsp after the card came back failed (exit status $?)"
  end_capture card-replug
  judge capture "$ART/card-replug.raw" --freq 500 --seconds 1.0
}
