# shellcheck shell=bash
# Three opens of /dev/dsp in one OSS 4 sync group, each primed with a click on its
# first frame ((1000,0), (0,2000), (300,300)), started by SYNCSTART: the clicks land on
# the same device frame, so the capture holds (1300,2300) and none of the three alone.
t_sync_group_start() {
  need_dsp
  need_capture
  need_bin oss_syncgroup
  local out
  begin_capture
  timeout 20 "$BIN/oss_syncgroup" || die "oss_syncgroup failed (exit status $?)"
  end_capture sync-group
  out=$(timeout 120 python3 - "$ART/sync-group.raw" <<'PY' 2>&1
import array, collections, sys
a = array.array("h", open(sys.argv[1], "rb").read())
frames = collections.Counter(zip(a[0::2], a[1::2]))
del frames[(0, 0)]
print("non-zero frames:", dict(frames))
alone = [f for f in [(1000, 0), (0, 2000), (300, 300)] if f in frames]
ok = frames.get((1300, 2300), 0) >= 1 and not alone and set(frames) == {(1300, 2300)}
sys.exit(0 if ok else 1)
PY
) || die "the clicks did not coincide: $out"
  echo "$out"
}
