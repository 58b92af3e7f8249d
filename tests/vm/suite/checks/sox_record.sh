# shellcheck shell=bash
# sox records 1 s of 8 kHz mono S16 from /dev/dsp (-t oss): the source's tone.
t_sox_record() {
  need_dsp
  need_source
  need_prog sox sox
  begin_record
  timeout 20 sox -q -t oss -r 8000 -c 1 -b 16 -e signed-integer /dev/dsp "$ART/sox-rec.wav" trim 0 1 ||
    die "sox -t oss /dev/dsp -r 8000 -c 1 rec.wav trim 0 1 failed (exit status $?)"
  end_record
  judge recording "$ART/sox-rec.wav" --freq "$SRC_FREQ" --seconds 1.0
}
