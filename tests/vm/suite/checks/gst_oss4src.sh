# shellcheck shell=bash
# GStreamer's OSS 4 source (issue 20): oss4src on /dev/dsp records the source's
# 750 Hz tone (S16LE 48 kHz stereo, 100 buffers). It asks SNDCTL_ENGINEINFO(-1) on
# its read-only file for the rates; without them it logged "failed to detect
# supported sample rates" and recorded nothing. Its first run in the guest scans the
# plugins (seconds): gst-inspect-1.0 does that first, into a registry under $ART.
t_gst_oss4src() {
  need_dsp
  need_source
  need_prog gst-launch-1.0 gstreamer1.0-tools
  local raw=$ART/gst-oss4src.raw log=$ART/gst-oss4src.log bytes secs rc=0
  export HOME=/tmp/gst-home GST_REGISTRY=$ART/gst-registry.bin
  mkdir -p "$HOME"
  timeout 120 gst-inspect-1.0 oss4src >/dev/null 2>&1 ||
    die "gst-inspect-1.0 oss4src failed: install gstreamer1.0-plugins-good on the host"
  rm -f "$raw"
  begin_record
  GST_DEBUG='oss4*:3' GST_DEBUG_NO_COLOR=1 timeout 60 gst-launch-1.0 -q oss4src device=/dev/dsp num-buffers=100 \
    ! audio/x-raw,format=S16LE,rate=48000,channels=2 ! filesink location="$raw" >"$log" 2>&1 || rc=$?
  end_record
  sed 's/^/  /' "$log"
  ! grep -q 'failed to detect' "$log" || die "oss4src: $(grep -o 'failed to detect.*' "$log" | head -n 1)"
  [ "$rc" -eq 0 ] || die "gst-launch-1.0 oss4src ... failed (exit status $rc; 124: still running after 60 s)"
  bytes=$(stat -c %s "$raw" 2>/dev/null || echo 0)
  secs=$(awk -v b="$bytes" 'BEGIN { printf "%.3f", b / 192000 }')
  echo "oss4src recorded $bytes bytes ($secs s)"
  awk -v s="$secs" 'BEGIN { exit !(s >= 0.5) }' || die "oss4src recorded $secs s; expected at least 0.5 s"
  judge recording "$raw" --format s16le --rate 48000 --channels 2 --freq "$SRC_FREQ" --seconds "$secs" --tol-len 0.1
}
