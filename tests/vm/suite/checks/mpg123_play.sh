# shellcheck shell=bash
# mpg123 -o oss plays a 1 s 660 Hz MP3: heard whole, at pitch.
t_mpg123_play() {
  need_dsp
  need_capture
  need_prog mpg123 mpg123
  need_file "$ART/tone-660.mp3"
  begin_capture
  timeout 20 mpg123 -q -o oss -a /dev/dsp "$ART/tone-660.mp3" || die "mpg123 -o oss tone-660.mp3 failed (exit status $?)"
  end_capture mpg123-play
  judge capture "$ART/mpg123-play.raw" --freq 660 --seconds 1.0 --tol-len 0.05
}
