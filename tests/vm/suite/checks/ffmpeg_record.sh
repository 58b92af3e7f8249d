# shellcheck shell=bash
# ffmpeg records 1 s from /dev/dsp (-f oss -i): the source's tone.
t_ffmpeg_record() {
  need_dsp
  need_source
  need_prog ffmpeg ffmpeg
  begin_record
  timeout 30 ffmpeg -hide_banner -loglevel error -nostdin -f oss -i /dev/dsp -t 1 -y "$ART/ffmpeg-rec.wav" ||
    die "ffmpeg -f oss -i /dev/dsp -t 1 rec.wav failed (exit status $?)"
  end_record
  judge recording "$ART/ffmpeg-rec.wav" --freq "$SRC_FREQ" --seconds 1.0
}
