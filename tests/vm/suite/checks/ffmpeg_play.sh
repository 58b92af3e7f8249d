# shellcheck shell=bash
# ffmpeg's OSS muxer (-f oss) plays a 1 s 880 Hz sine from lavfi: heard whole, at pitch.
t_ffmpeg_play() {
  need_dsp
  need_capture
  need_prog ffmpeg ffmpeg
  begin_capture
  timeout 30 ffmpeg -hide_banner -loglevel error -nostdin -f lavfi -i sine=frequency=880:duration=1 -f oss /dev/dsp ||
    die "ffmpeg -f lavfi -i sine=880 -f oss /dev/dsp failed (exit status $?)"
  end_capture ffmpeg-play
  judge capture "$ART/ffmpeg-play.raw" --freq 880 --seconds "$FFMPEG_SECONDS" --tol-len 0.03
}
