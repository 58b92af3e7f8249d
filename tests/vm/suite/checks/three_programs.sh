# shellcheck shell=bash
# sox (440 Hz), mpg123 (660 Hz) and ffmpeg (880 Hz) at once: all three tones sound,
# together. ffmpeg takes seconds to start in this guest, so it goes first (a 5 s
# tone) and the other two (2.5 s) start once it writes to /dev/dsp.
ffmpeg_plays() {  # ffmpeg_plays PID: PID (timeout) has an ffmpeg child writing to /dev/dsp
  local c w
  c=$(pgrep -P "$1" -x ffmpeg) || return 1
  find "/proc/$c/fd" -lname /dev/dsp 2>/dev/null | grep -q . || return 1
  # it opens the device seconds before its first write here; -loglevel error writes nothing else
  w=$(sed -n 's/^wchar: //p' "/proc/$c/io" 2>/dev/null)
  [ "${w:-0}" -ge 4096 ]
}

t_three_programs() {
  need_dsp
  need_capture
  need_prog sox sox
  need_prog mpg123 mpg123
  need_prog ffmpeg ffmpeg
  need_file "$ART/three-440.wav"
  need_file "$ART/three-660.mp3"
  local p1 p2 p3 r1=0 r2=0 r3=0 out
  begin_capture
  timeout 60 ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i sine=frequency=880:duration=5 -f oss /dev/dsp & p3=$!
  # shellcheck disable=SC2064
  trap "kill $p3 2>/dev/null || true" EXIT
  wait_for 30 ffmpeg_plays "$p3" || die "ffmpeg did not start writing to /dev/dsp within 30 s"
  timeout 30 sox -q "$ART/three-440.wav" -t oss /dev/dsp & p1=$!
  timeout 30 mpg123 -q -o oss -a /dev/dsp "$ART/three-660.mp3" & p2=$!
  wait "$p1" || r1=$?
  wait "$p2" || r2=$?
  wait "$p3" || r3=$?
  [ "$((r1 + r2 + r3))" -eq 0 ] || die "players failed: sox exit $r1, mpg123 exit $r2, ffmpeg exit $r3"
  end_capture three-programs
  out=$(pcmcheck tones "$ART/three-programs.raw" --tone "440:$SOX3_SECONDS:0.25" --tone 660:2.5:0.25 --tone "880:$FFMPEG3_SECONDS:0.125" \
    --together 1.0 2>&1) || die "capture: ${out#FAIL: }"
  echo "$out"
}
