# shellcheck shell=bash
# sox -t oss plays a 440 Hz WAV (a whole number of its 4096-frame blocks: see
# host_signals): heard whole, at pitch.
t_sox_play() {
  need_dsp
  need_capture
  need_prog sox sox
  need_file "$ART/tone-440.wav"
  begin_capture
  timeout 20 sox -q "$ART/tone-440.wav" -t oss /dev/dsp || die "sox tone-440.wav -t oss /dev/dsp failed (exit status $?)"
  end_capture sox-play
  judge capture "$ART/sox-play.raw" --freq 440 --seconds "$SOX_SECONDS"
}
