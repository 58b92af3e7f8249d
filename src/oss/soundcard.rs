//! The OSS (Open Sound System) binary interface: ioctl numbers, constants and
//! struct layouts, exactly as applications compiled against a `soundcard.h`
//! put them on the wire to `/dev/dsp` and `/dev/mixer`.
//!
//! This module owns *only* the ABI. It knows nothing about CUSE, mixing or
//! devices; the ioctl dispatcher matches on the numbers defined here and uses
//! the `to_bytes`/`from_bytes` codecs to fill the ioctl in/out buffers.
//!
//! # Where each group comes from
//!
//! * **Ioctl encoding** ([`ioc`], [`io`], [`ior`], [`iow`], [`iowr`] and the
//!   `ioc_*` decoders): the Linux generic `_IOC` layout (nr in bits 0-7, type
//!   in bits 8-15, size in bits 16-29, direction in bits 30-31; `READ` = 2,
//!   `WRITE` = 1). Linux's `soundcard.h` maps its `_SIO*` macros onto exactly
//!   these, and so does 4Front's OSS 4 header when built on Linux.
//! * **OSS 3** (the classic `SNDCTL_DSP_*`, `SOUND_PCM_*`, `SOUND_MIXER_*`,
//!   `OSS_GETVERSION`, `DSP_CAP_*` up to `BIND`, `AFMT_*` up to `AC3`,
//!   `audio_buf_info`, `count_info`, `buffmem_desc`, `mixer_info`,
//!   `_old_mixer_info`): the Linux UAPI header `<linux/soundcard.h>`
//!   (`SOUND_VERSION` 0x030802). Where Linux and FreeBSD differ for these, we
//!   follow Linux, because our clients are Linux programs: `GETBLKSIZE` is
//!   read-write, `SOUND_MIXER_MUTE`/`ENHANCE`/`LOUD` are all `SOUND_MIXER_NONE`.
//! * **OSS 4** (`SNDCTL_SYSINFO`, `SNDCTL_AUDIOINFO[_EX]`, `SNDCTL_ENGINEINFO`,
//!   `SNDCTL_MIXERINFO`, `SNDCTL_CARDINFO`, `SNDCTL_MIX_*`, the `'P'` numbers
//!   24 and up, `'Y'` names/labels, `PCM_CAP_*`, `CHID_*`, and the structs
//!   `oss_sysinfo`, `oss_audioinfo`, `oss_mixerinfo`, `oss_card_info`,
//!   `oss_mixext`, `oss_mixer_value`, `oss_mixer_enuminfo`, `audio_errinfo`,
//!   `oss_syncgroup`, `oss_count_t`, `oss_label_t`, `oss_longname_t`):
//!   FreeBSD's `sys/sys/soundcard.h`, which carries the OSS 4 API with
//!   4Front's numbers, cross-checked against 4Front's own OSS 4.2
//!   `include/soundcard.h`. The two agree on every number and every struct
//!   size except `audio_errinfo`, where FreeBSD declares `play_errorparm` and
//!   `rec_errorparm` as `long` and 4Front as `int`; on LP64 Linux that changes
//!   the size (112 vs 104) and so the ioctl number. We follow 4Front, which is
//!   the header Linux OSS 4 programs are built against (see [`AudioErrInfo`]).
//!   Field names follow FreeBSD (e.g. `oss_audioinfo.real_device`, which
//!   4Front calls `legacy_device`; 4Front 4.2 also names some of FreeBSD's
//!   filler words, which we keep as filler).
//! * **OSS 4 sample formats** above `AFMT_AC3`: 4Front's values. FreeBSD uses
//!   different bits for the 24-bit and unsigned 32-bit formats; Linux OSS 4
//!   programs use 4Front's (see [`AFMT_S24_LE`]).
//!
//! # Conventions
//!
//! * Ioctl numbers are `u32` and keep their C names, so grepping for the C
//!   name finds them. They are built with the same (direction, type, nr,
//!   size) as the C macro, the size taken from the Rust struct's `SIZE`; a
//!   wrong layout therefore also shows up as a wrong ioctl number.
//! * Structs are plain Rust structs named in CamelCase (each doc names its C
//!   struct) with snake_case fields as in C. C `int` is `i32`, `unsigned` is
//!   `u32`, `long long` is `i64`, `short` is `i16`, `char[N]` is `[u8; N]`.
//!   `SIZE` is the C `sizeof`, including trailing alignment padding.
//! * `to_bytes` writes the C layout in native byte order (little-endian on
//!   every platform ossd targets) with padding zeroed; `from_bytes` reads the
//!   first `SIZE` bytes and returns `None` if fewer are given. No `unsafe`.
//! * C strings: [`set_cstr`], [`cstr_array`], [`cstr_bytes`] and
//!   [`cstr_to_string`] convert between `&str` and NUL-terminated arrays.

// ---------------------------------------------------------------------------
// Ioctl number encoding (Linux _IOC layout)
// ---------------------------------------------------------------------------

/// Number of bits of the `nr` field (bits 0-7).
pub const IOC_NRBITS: u32 = 8;
/// Number of bits of the `type` field (bits 8-15).
pub const IOC_TYPEBITS: u32 = 8;
/// Number of bits of the `size` field (bits 16-29).
pub const IOC_SIZEBITS: u32 = 14;
/// Number of bits of the direction field (bits 30-31).
pub const IOC_DIRBITS: u32 = 2;

/// Bit position of the `nr` field.
pub const IOC_NRSHIFT: u32 = 0;
/// Bit position of the `type` field.
pub const IOC_TYPESHIFT: u32 = 8;
/// Bit position of the `size` field.
pub const IOC_SIZESHIFT: u32 = 16;
/// Bit position of the direction field.
pub const IOC_DIRSHIFT: u32 = 30;

/// Direction: no argument is transferred (`_IOC_NONE`).
pub const IOC_NONE: u32 = 0;
/// Direction: the caller writes the argument, the driver reads it (`_IOC_WRITE`).
pub const IOC_WRITE: u32 = 1;
/// Direction: the driver writes the argument back to the caller (`_IOC_READ`).
pub const IOC_READ: u32 = 2;

/// Builds an ioctl number from its four fields, like Linux's `_IOC`.
///
/// Panics (at compile time when used in a `const`) if a field does not fit.
pub const fn ioc(dir: u32, ty: u32, nr: u32, size: usize) -> u32 {
    assert!(dir < (1 << IOC_DIRBITS), "ioctl direction out of range");
    assert!(ty < (1 << IOC_TYPEBITS), "ioctl type out of range");
    assert!(nr < (1 << IOC_NRBITS), "ioctl nr out of range");
    assert!(size < (1 << IOC_SIZEBITS), "ioctl size out of range");
    // IOC_NRSHIFT is 0, so `nr` goes in unshifted.
    (dir << IOC_DIRSHIFT) | ((size as u32) << IOC_SIZESHIFT) | (ty << IOC_TYPESHIFT) | nr
}

/// `_IO(ty, nr)`: an ioctl without argument.
pub const fn io(ty: u32, nr: u32) -> u32 {
    ioc(IOC_NONE, ty, nr, 0)
}

/// `_IOR(ty, nr, T)` with `size == sizeof(T)`: the driver returns a value.
pub const fn ior(ty: u32, nr: u32, size: usize) -> u32 {
    ioc(IOC_READ, ty, nr, size)
}

/// `_IOW(ty, nr, T)` with `size == sizeof(T)`: the caller passes a value.
pub const fn iow(ty: u32, nr: u32, size: usize) -> u32 {
    ioc(IOC_WRITE, ty, nr, size)
}

/// `_IOWR(ty, nr, T)` with `size == sizeof(T)`: value passed in and returned.
pub const fn iowr(ty: u32, nr: u32, size: usize) -> u32 {
    ioc(IOC_READ | IOC_WRITE, ty, nr, size)
}

/// Direction field of an ioctl number (`_IOC_DIR`): a combination of
/// [`IOC_READ`] and [`IOC_WRITE`], or [`IOC_NONE`].
pub const fn ioc_dir(cmd: u32) -> u32 {
    (cmd >> IOC_DIRSHIFT) & ((1 << IOC_DIRBITS) - 1)
}

/// Type (group letter) field of an ioctl number (`_IOC_TYPE`).
pub const fn ioc_type(cmd: u32) -> u32 {
    (cmd >> IOC_TYPESHIFT) & ((1 << IOC_TYPEBITS) - 1)
}

/// Number field of an ioctl number (`_IOC_NR`).
pub const fn ioc_nr(cmd: u32) -> u32 {
    cmd & ((1 << IOC_NRBITS) - 1)
}

/// Argument size field of an ioctl number (`_IOC_SIZE`), in bytes.
pub const fn ioc_size(cmd: u32) -> usize {
    ((cmd >> IOC_SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1)) as usize
}

/// Ioctl type letter `'P'`: the `/dev/dsp` (PCM) calls.
pub const OSS_IOCTYPE_DSP: u32 = b'P' as u32;
/// Ioctl type letter `'M'`: the legacy `/dev/mixer` calls and `OSS_GETVERSION`.
pub const OSS_IOCTYPE_MIXER: u32 = b'M' as u32;
/// Ioctl type letter `'X'`: the OSS 4 system/device information and new mixer calls.
pub const OSS_IOCTYPE_SYSINFO: u32 = b'X' as u32;
/// Ioctl type letter `'Y'`: the OSS 4 song name / application name / label calls.
pub const OSS_IOCTYPE_GLOBAL: u32 = b'Y' as u32;

/// `sizeof(int)` on every Linux ABI.
const SIZEOF_INT: usize = 4;
/// `sizeof(unsigned long long)`.
const SIZEOF_LONG_LONG: usize = 8;
/// `sizeof(mixer_record)` (`unsigned char[128]`, used by `SOUND_MIXER_ACCESS`).
const MIXER_RECORD_SIZE: usize = 128;
/// `sizeof(mixer_vol_table)`: `int num; char name[32]; int levels[32];`.
const MIXER_VOL_TABLE_SIZE: usize = 4 + 32 + 32 * 4;

const P: u32 = OSS_IOCTYPE_DSP;
const M: u32 = OSS_IOCTYPE_MIXER;
const X: u32 = OSS_IOCTYPE_SYSINFO;
const Y: u32 = OSS_IOCTYPE_GLOBAL;

// ---------------------------------------------------------------------------
// Versions and sizes
// ---------------------------------------------------------------------------

/// The OSS version ossd reports: `OSS_GETVERSION`, `oss_sysinfo.versionnum`.
///
/// Encoded as `0xMMmmpp` (major, minor, patch), so 0x040100 is "OSS 4.1.0".
/// We claim 4.1 because we implement the OSS 4 ioctls defined in this module
/// (SYSINFO, AUDIOINFO, GETERROR, CURRENT_OPTR, ...) and programs use
/// `>= 0x040000` to decide whether to try them. (Linux's OSS 3 header
/// defines `SOUND_VERSION` 0x030802; 4Front's 4.1 header 0x040100.)
pub const OSS_VERSION: u32 = 0x0004_0100;
/// Same value as [`OSS_VERSION`], as in 4Front's header.
pub const SOUND_VERSION: u32 = OSS_VERSION;

/// `sizeof(oss_longname_t)`: song names and application names.
pub const OSS_LONGNAME_SIZE: usize = 64;
/// `sizeof(oss_label_t)`: device labels.
pub const OSS_LABEL_SIZE: usize = 16;
/// `sizeof(oss_devnode_t)`: device node paths in `oss_audioinfo.devnode`.
pub const OSS_DEVNODE_SIZE: usize = 32;
/// Length of `oss_audioinfo.rates`.
pub const OSS_MAX_SAMPLE_RATES: usize = 20;
/// Number of `oss_mixer_enuminfo.strindex` entries.
pub const OSS_ENUM_MAXVALUE: usize = 255;
/// Size of `oss_mixer_enuminfo.strings` (4Front's `OSS_ENUM_STRINGSIZE`).
pub const OSS_ENUM_STRINGSIZE: usize = 3000;
/// Length of `oss_peaks_t` (`unsigned short[128]`).
pub const MAX_PEAK_CHANNELS: usize = 128;
/// Upper bound on audio devices, as NetBSD's OSS compatibility header
/// defines it (neither FreeBSD nor 4Front name one; the
/// `oss_sysinfo.openedaudio` bit mask has room for 256).
pub const OSS_MAX_AUDIO_DEVS: usize = 64;
/// `sizeof(oss_midi_info)`. Only the size is modelled: ossd has no MIDI.
pub const OSS_MIDI_INFO_SIZE: usize = 1256;

// ---------------------------------------------------------------------------
// /dev/dsp ioctls, OSS 3 (Linux <linux/soundcard.h>)
// ---------------------------------------------------------------------------

/// Stop playback and recording immediately, discarding buffered data.
pub const SNDCTL_DSP_RESET: u32 = io(P, 0);
/// Wait until all written data has been played.
pub const SNDCTL_DSP_SYNC: u32 = io(P, 1);
/// Set/get the sample rate (`int` in Hz, in/out).
pub const SNDCTL_DSP_SPEED: u32 = iowr(P, 2, SIZEOF_INT);
/// Set/get stereo (`int` 0/1, in/out). Obsolete, use `SNDCTL_DSP_CHANNELS`.
pub const SNDCTL_DSP_STEREO: u32 = iowr(P, 3, SIZEOF_INT);
/// Get the fragment size (`int`). Read-write on Linux (`_IOR` on FreeBSD).
pub const SNDCTL_DSP_GETBLKSIZE: u32 = iowr(P, 4, SIZEOF_INT);
/// Select one sample format (`int` `AFMT_*`, in/out; `AFMT_QUERY` to ask).
pub const SNDCTL_DSP_SETFMT: u32 = iowr(P, 5, SIZEOF_INT);
/// Set/get the number of channels (`int`, in/out).
pub const SNDCTL_DSP_CHANNELS: u32 = iowr(P, 6, SIZEOF_INT);
/// Set/get the filter (`int`, in/out); no real driver implements it.
pub const SOUND_PCM_WRITE_FILTER: u32 = iowr(P, 7, SIZEOF_INT);
/// Flush a partial fragment to the device (no argument).
pub const SNDCTL_DSP_POST: u32 = io(P, 8);
/// Subdivide the buffer into smaller fragments (`int`, in/out).
pub const SNDCTL_DSP_SUBDIVIDE: u32 = iowr(P, 9, SIZEOF_INT);
/// Request fragment count and size (`int` `0xMMMMSSSS`, in/out).
pub const SNDCTL_DSP_SETFRAGMENT: u32 = iowr(P, 10, SIZEOF_INT);
/// Get the mask of supported `AFMT_*` formats (`int`).
pub const SNDCTL_DSP_GETFMTS: u32 = ior(P, 11, SIZEOF_INT);
/// Get playback buffer space ([`AudioBufInfo`]).
pub const SNDCTL_DSP_GETOSPACE: u32 = ior(P, 12, AudioBufInfo::SIZE);
/// Get recording buffer fill ([`AudioBufInfo`]).
pub const SNDCTL_DSP_GETISPACE: u32 = ior(P, 13, AudioBufInfo::SIZE);
/// Switch the open file to non-blocking mode (no argument).
pub const SNDCTL_DSP_NONBLOCK: u32 = io(P, 14);
/// Get the `DSP_CAP_*` capability mask (`int`).
pub const SNDCTL_DSP_GETCAPS: u32 = ior(P, 15, SIZEOF_INT);
/// Get the `PCM_ENABLE_*` trigger bits (`int`).
pub const SNDCTL_DSP_GETTRIGGER: u32 = ior(P, 16, SIZEOF_INT);
/// Set the `PCM_ENABLE_*` trigger bits (`int`).
pub const SNDCTL_DSP_SETTRIGGER: u32 = iow(P, 16, SIZEOF_INT);
/// Get the recording position ([`CountInfo`]).
pub const SNDCTL_DSP_GETIPTR: u32 = ior(P, 17, CountInfo::SIZE);
/// Get the playback position ([`CountInfo`]).
pub const SNDCTL_DSP_GETOPTR: u32 = ior(P, 18, CountInfo::SIZE);
/// Map the recording buffer ([`BuffmemDesc`]); obsolete, never implemented by Linux.
pub const SNDCTL_DSP_MAPINBUF: u32 = ior(P, 19, BuffmemDesc::SIZE);
/// Map the playback buffer ([`BuffmemDesc`]); obsolete, never implemented by Linux.
pub const SNDCTL_DSP_MAPOUTBUF: u32 = ior(P, 20, BuffmemDesc::SIZE);

/// ossd's own call, answered on its /dev/dsp files only: `ossd-run`'s preload
/// library (`preload/ossd_run.c`) asks it to tell ossd's files from any other
/// driver's, since only on ossd's does it emulate mmap. `_IOR('P', 0xf0,
/// struct { uint32_t magic, version; })` ([`OSSD_IDENT_MAGIC`],
/// [`OSSD_IDENT_VERSION`]); every other driver answers a number it does not
/// know with an error (ENOTTY, EINVAL), and ossd's /dev/mixer with EINVAL.
pub const SNDCTL_DSP_OSSD_IDENT: u32 = ior(P, 0xf0, OSSD_IDENT_SIZE);
/// `magic` of [`SNDCTL_DSP_OSSD_IDENT`]'s answer: "ossd" read as a big-endian word.
pub const OSSD_IDENT_MAGIC: u32 = 0x6f73_7364;
/// `version` of [`SNDCTL_DSP_OSSD_IDENT`]'s answer: what the library may rely on.
pub const OSSD_IDENT_VERSION: u32 = 1;
/// Bytes of [`SNDCTL_DSP_OSSD_IDENT`]'s answer.
pub const OSSD_IDENT_SIZE: usize = 8;
/// Prepare for synchronised start of several devices (no argument).
pub const SNDCTL_DSP_SETSYNCRO: u32 = io(P, 21);
/// Switch to full duplex (no argument).
pub const SNDCTL_DSP_SETDUPLEX: u32 = io(P, 22);
/// Get the number of bytes written but not yet played (`int`).
pub const SNDCTL_DSP_GETODELAY: u32 = ior(P, 23, SIZEOF_INT);
/// Set the application profile (`int` `APF_*`). Same nr as GETODELAY, other direction.
pub const SNDCTL_DSP_PROFILE: u32 = iow(P, 23, SIZEOF_INT);
/// Get the mask of channel bindings the device supports (`int` `DSP_BIND_*`, in/out).
pub const SNDCTL_DSP_GETCHANNELMASK: u32 = iowr(P, 64, SIZEOF_INT);
/// Bind the device to output channels (`int` `DSP_BIND_*`, in/out).
pub const SNDCTL_DSP_BIND_CHANNEL: u32 = iowr(P, 65, SIZEOF_INT);
/// Set S/PDIF control bits (`int`); Linux-only.
pub const SNDCTL_DSP_SETSPDIF: u32 = iow(P, 66, SIZEOF_INT);
/// Get S/PDIF control bits (`int`); Linux-only.
pub const SNDCTL_DSP_GETSPDIF: u32 = ior(P, 67, SIZEOF_INT);

/// Read back the sample rate (`int`).
pub const SOUND_PCM_READ_RATE: u32 = ior(P, 2, SIZEOF_INT);
/// Read back the channel count (`int`).
pub const SOUND_PCM_READ_CHANNELS: u32 = ior(P, 6, SIZEOF_INT);
/// Read back the sample format (`int`, an `AFMT_*` value despite the name).
pub const SOUND_PCM_READ_BITS: u32 = ior(P, 5, SIZEOF_INT);
/// Read back the filter (`int`).
pub const SOUND_PCM_READ_FILTER: u32 = ior(P, 7, SIZEOF_INT);

/// Old name of [`SNDCTL_DSP_SETFMT`].
pub const SNDCTL_DSP_SAMPLESIZE: u32 = SNDCTL_DSP_SETFMT;
/// Alias of [`SNDCTL_DSP_CHANNELS`].
pub const SOUND_PCM_WRITE_CHANNELS: u32 = SNDCTL_DSP_CHANNELS;
/// Alias of [`SNDCTL_DSP_SETFMT`].
pub const SOUND_PCM_WRITE_BITS: u32 = SNDCTL_DSP_SETFMT;
/// Alias of [`SNDCTL_DSP_SPEED`].
pub const SOUND_PCM_WRITE_RATE: u32 = SNDCTL_DSP_SPEED;
/// Alias of [`SNDCTL_DSP_POST`].
pub const SOUND_PCM_POST: u32 = SNDCTL_DSP_POST;
/// Alias of [`SNDCTL_DSP_RESET`].
pub const SOUND_PCM_RESET: u32 = SNDCTL_DSP_RESET;
/// Alias of [`SNDCTL_DSP_SYNC`].
pub const SOUND_PCM_SYNC: u32 = SNDCTL_DSP_SYNC;
/// Alias of [`SNDCTL_DSP_SUBDIVIDE`].
pub const SOUND_PCM_SUBDIVIDE: u32 = SNDCTL_DSP_SUBDIVIDE;
/// Alias of [`SNDCTL_DSP_SETFRAGMENT`].
pub const SOUND_PCM_SETFRAGMENT: u32 = SNDCTL_DSP_SETFRAGMENT;
/// Alias of [`SNDCTL_DSP_GETFMTS`].
pub const SOUND_PCM_GETFMTS: u32 = SNDCTL_DSP_GETFMTS;
/// Alias of [`SNDCTL_DSP_SETFMT`].
pub const SOUND_PCM_SETFMT: u32 = SNDCTL_DSP_SETFMT;
/// Alias of [`SNDCTL_DSP_GETOSPACE`].
pub const SOUND_PCM_GETOSPACE: u32 = SNDCTL_DSP_GETOSPACE;
/// Alias of [`SNDCTL_DSP_GETISPACE`].
pub const SOUND_PCM_GETISPACE: u32 = SNDCTL_DSP_GETISPACE;
/// Alias of [`SNDCTL_DSP_NONBLOCK`].
pub const SOUND_PCM_NONBLOCK: u32 = SNDCTL_DSP_NONBLOCK;
/// Alias of [`SNDCTL_DSP_GETCAPS`].
pub const SOUND_PCM_GETCAPS: u32 = SNDCTL_DSP_GETCAPS;
/// Alias of [`SNDCTL_DSP_GETTRIGGER`].
pub const SOUND_PCM_GETTRIGGER: u32 = SNDCTL_DSP_GETTRIGGER;
/// Alias of [`SNDCTL_DSP_SETTRIGGER`].
pub const SOUND_PCM_SETTRIGGER: u32 = SNDCTL_DSP_SETTRIGGER;
/// Alias of [`SNDCTL_DSP_SETSYNCRO`].
pub const SOUND_PCM_SETSYNCRO: u32 = SNDCTL_DSP_SETSYNCRO;
/// Alias of [`SNDCTL_DSP_GETIPTR`].
pub const SOUND_PCM_GETIPTR: u32 = SNDCTL_DSP_GETIPTR;
/// Alias of [`SNDCTL_DSP_GETOPTR`].
pub const SOUND_PCM_GETOPTR: u32 = SNDCTL_DSP_GETOPTR;
/// Alias of [`SNDCTL_DSP_MAPINBUF`].
pub const SOUND_PCM_MAPINBUF: u32 = SNDCTL_DSP_MAPINBUF;
/// Alias of [`SNDCTL_DSP_MAPOUTBUF`].
pub const SOUND_PCM_MAPOUTBUF: u32 = SNDCTL_DSP_MAPOUTBUF;

// ---------------------------------------------------------------------------
// /dev/dsp ioctls, OSS 4 (FreeBSD sys/soundcard.h, 4Front numbers)
// ---------------------------------------------------------------------------

/// OSS 4 name of [`SNDCTL_DSP_RESET`].
pub const SNDCTL_DSP_HALT: u32 = SNDCTL_DSP_RESET;
/// Get the playback volume (`int`, left | right << 8, 0..=100 each).
pub const SNDCTL_DSP_GETPLAYVOL: u32 = ior(P, 24, SIZEOF_INT);
/// Set the playback volume (`int`, in/out, encoded as for GETPLAYVOL).
pub const SNDCTL_DSP_SETPLAYVOL: u32 = iowr(P, 24, SIZEOF_INT);
/// Get and clear underrun/overrun statistics ([`AudioErrInfo`]).
pub const SNDCTL_DSP_GETERROR: u32 = ior(P, 25, AudioErrInfo::SIZE);
/// Create or join a sync group ([`OssSyncgroup`], in/out).
pub const SNDCTL_DSP_SYNCGROUP: u32 = iowr(P, 28, OssSyncgroup::SIZE);
/// Start a sync group (`int` group id).
pub const SNDCTL_DSP_SYNCSTART: u32 = iow(P, 29, SIZEOF_INT);
/// Enable/disable format conversions (`int` 0/1); call right after open.
pub const SNDCTL_DSP_COOKEDMODE: u32 = iow(P, 30, SIZEOF_INT);
/// Overwrite the queued playback data with silence (no argument).
pub const SNDCTL_DSP_SILENCE: u32 = io(P, 31);
/// Discard the queued playback data (no argument).
pub const SNDCTL_DSP_SKIP: u32 = io(P, 32);
/// Stop recording only (no argument).
pub const SNDCTL_DSP_HALT_INPUT: u32 = io(P, 33);
/// Old name of [`SNDCTL_DSP_HALT_INPUT`].
pub const SNDCTL_DSP_RESET_INPUT: u32 = SNDCTL_DSP_HALT_INPUT;
/// Stop playback only (no argument).
pub const SNDCTL_DSP_HALT_OUTPUT: u32 = io(P, 34);
/// Old name of [`SNDCTL_DSP_HALT_OUTPUT`].
pub const SNDCTL_DSP_RESET_OUTPUT: u32 = SNDCTL_DSP_HALT_OUTPUT;
/// Set the poll/select wake-up threshold in bytes (`int`). Same nr as HALT_OUTPUT.
pub const SNDCTL_DSP_LOW_WATER: u32 = iow(P, 34, SIZEOF_INT);
/// Get the 64-bit recording position ([`OssCount`]).
pub const SNDCTL_DSP_CURRENT_IPTR: u32 = ior(P, 35, OssCount::SIZE);
/// Get the 64-bit playback position ([`OssCount`]).
pub const SNDCTL_DSP_CURRENT_OPTR: u32 = ior(P, 36, OssCount::SIZE);
/// `sizeof(oss_count_t)` in a 32-bit x86 program: `long long` aligns to 4
/// there, so the struct has no tail padding and its ioctl numbers differ.
pub const OSS_COUNT_I386_SIZE: usize = 140;
/// [`SNDCTL_DSP_CURRENT_IPTR`] as an i386 program's header makes it.
pub const SNDCTL_DSP_CURRENT_IPTR_I386: u32 = ior(P, 35, OSS_COUNT_I386_SIZE);
/// [`SNDCTL_DSP_CURRENT_OPTR`] as an i386 program's header makes it.
pub const SNDCTL_DSP_CURRENT_OPTR_I386: u32 = ior(P, 36, OSS_COUNT_I386_SIZE);
/// Get the names of the recording sources ([`OssMixerEnuminfo`]).
pub const SNDCTL_DSP_GET_RECSRC_NAMES: u32 = ior(P, 37, OssMixerEnuminfo::SIZE);
/// Get the selected recording source (`int`).
pub const SNDCTL_DSP_GET_RECSRC: u32 = ior(P, 38, SIZEOF_INT);
/// Select the recording source (`int`, in/out).
pub const SNDCTL_DSP_SET_RECSRC: u32 = iowr(P, 38, SIZEOF_INT);
/// Get the names of the playback targets ([`OssMixerEnuminfo`]).
pub const SNDCTL_DSP_GET_PLAYTGT_NAMES: u32 = ior(P, 39, OssMixerEnuminfo::SIZE);
/// Get the selected playback target (`int`).
pub const SNDCTL_DSP_GET_PLAYTGT: u32 = ior(P, 40, SIZEOF_INT);
/// Select the playback target (`int`, in/out).
pub const SNDCTL_DSP_SET_PLAYTGT: u32 = iowr(P, 40, SIZEOF_INT);
/// Get the recording volume (`int`, encoded as for GETPLAYVOL).
pub const SNDCTL_DSP_GETRECVOL: u32 = ior(P, 41, SIZEOF_INT);
/// Set the recording volume (`int`, in/out).
pub const SNDCTL_DSP_SETRECVOL: u32 = iowr(P, 41, SIZEOF_INT);
/// Get the channel order (`unsigned long long`, nibbles of `CHID_*`).
pub const SNDCTL_DSP_GET_CHNORDER: u32 = ior(P, 42, SIZEOF_LONG_LONG);
/// Set the channel order (`unsigned long long`, in/out).
pub const SNDCTL_DSP_SET_CHNORDER: u32 = iowr(P, 42, SIZEOF_LONG_LONG);
/// Get recording peak levels ([`OssPeaks`]).
pub const SNDCTL_DSP_GETIPEAKS: u32 = ior(P, 43, OSS_PEAKS_SIZE);
/// Get playback peak levels ([`OssPeaks`]).
pub const SNDCTL_DSP_GETOPEAKS: u32 = ior(P, 44, OSS_PEAKS_SIZE);
/// Set the buffering policy (`int` 0..=10; lower means smaller buffers, lower latency).
pub const SNDCTL_DSP_POLICY: u32 = iow(P, 45, SIZEOF_INT);

// ---------------------------------------------------------------------------
// /dev/mixer: channel numbers, masks and ioctls (Linux <linux/soundcard.h>)
// ---------------------------------------------------------------------------

/// Number of legacy mixer channels (0..=24).
pub const SOUND_MIXER_NRDEVICES: u32 = 25;
/// Master output level.
pub const SOUND_MIXER_VOLUME: u32 = 0;
/// Bass.
pub const SOUND_MIXER_BASS: u32 = 1;
/// Treble.
pub const SOUND_MIXER_TREBLE: u32 = 2;
/// Synthesizer input.
pub const SOUND_MIXER_SYNTH: u32 = 3;
/// PCM (`/dev/dsp`) output level.
pub const SOUND_MIXER_PCM: u32 = 4;
/// PC speaker.
pub const SOUND_MIXER_SPEAKER: u32 = 5;
/// Line in.
pub const SOUND_MIXER_LINE: u32 = 6;
/// Microphone.
pub const SOUND_MIXER_MIC: u32 = 7;
/// CD audio in.
pub const SOUND_MIXER_CD: u32 = 8;
/// Recording monitor.
pub const SOUND_MIXER_IMIX: u32 = 9;
/// Alternate PCM device.
pub const SOUND_MIXER_ALTPCM: u32 = 10;
/// Global recording level.
pub const SOUND_MIXER_RECLEV: u32 = 11;
/// Input gain.
pub const SOUND_MIXER_IGAIN: u32 = 12;
/// Output gain.
pub const SOUND_MIXER_OGAIN: u32 = 13;
/// Line input 1 (aux1).
pub const SOUND_MIXER_LINE1: u32 = 14;
/// Line input 2 (aux2).
pub const SOUND_MIXER_LINE2: u32 = 15;
/// Line input 3.
pub const SOUND_MIXER_LINE3: u32 = 16;
/// Digital 1.
pub const SOUND_MIXER_DIGITAL1: u32 = 17;
/// Digital 2.
pub const SOUND_MIXER_DIGITAL2: u32 = 18;
/// Digital 3.
pub const SOUND_MIXER_DIGITAL3: u32 = 19;
/// Phone in.
pub const SOUND_MIXER_PHONEIN: u32 = 20;
/// Phone out.
pub const SOUND_MIXER_PHONEOUT: u32 = 21;
/// Video/TV audio in.
pub const SOUND_MIXER_VIDEO: u32 = 22;
/// Radio in.
pub const SOUND_MIXER_RADIO: u32 = 23;
/// Monitor (usually microphone) volume.
pub const SOUND_MIXER_MONITOR: u32 = 24;
/// First on/off pseudo channel number.
pub const SOUND_ONOFF_MIN: u32 = 28;
/// Last on/off pseudo channel number.
pub const SOUND_ONOFF_MAX: u32 = 30;
/// "No channel" (31; the sign bit of the masks is reserved).
pub const SOUND_MIXER_NONE: u32 = 31;
/// No longer functional: Linux maps it to `SOUND_MIXER_NONE` (FreeBSD: 28).
pub const SOUND_MIXER_MUTE: u32 = SOUND_MIXER_NONE;
/// No longer functional: Linux maps it to `SOUND_MIXER_NONE` (FreeBSD: 29).
pub const SOUND_MIXER_ENHANCE: u32 = SOUND_MIXER_NONE;
/// No longer functional: Linux maps it to `SOUND_MIXER_NONE` (FreeBSD: 30).
pub const SOUND_MIXER_LOUD: u32 = SOUND_MIXER_NONE;

/// Pseudo channel: mask of the selected recording sources.
pub const SOUND_MIXER_RECSRC: u32 = 0xff;
/// Pseudo channel: mask of the channels this mixer has.
pub const SOUND_MIXER_DEVMASK: u32 = 0xfe;
/// Pseudo channel: mask of the channels usable as recording source.
pub const SOUND_MIXER_RECMASK: u32 = 0xfd;
/// Pseudo channel: `SOUND_CAP_*` mixer capabilities.
pub const SOUND_MIXER_CAPS: u32 = 0xfc;
/// Pseudo channel: mask of the stereo channels.
pub const SOUND_MIXER_STEREODEVS: u32 = 0xfb;
/// Pseudo channel (OSS/Free only): inputs routed to the output.
pub const SOUND_MIXER_OUTSRC: u32 = 0xfa;
/// Pseudo channel (OSS/Free only): inputs that can be routed to the output.
pub const SOUND_MIXER_OUTMASK: u32 = 0xf9;
/// `SOUND_MIXER_CAPS` bit: only one recording source at a time.
pub const SOUND_CAP_EXCL_INPUT: u32 = 0x0000_0001;

/// Short names of the 25 legacy channels, indexed by channel number.
pub const SOUND_DEVICE_NAMES: [&str; SOUND_MIXER_NRDEVICES as usize] = [
    "vol", "bass", "treble", "synth", "pcm", "speaker", "line", "mic", "cd", "mix", "pcm2", "rec",
    "igain", "ogain", "line1", "line2", "line3", "dig1", "dig2", "dig3", "phin", "phout", "video",
    "radio", "monitor",
];
/// Display labels of the 25 legacy channels, indexed by channel number.
pub const SOUND_DEVICE_LABELS: [&str; SOUND_MIXER_NRDEVICES as usize] = [
    "Vol  ", "Bass ", "Trebl", "Synth", "Pcm  ", "Spkr ", "Line ", "Mic  ", "CD   ", "Mix  ",
    "Pcm2 ", "Rec  ", "IGain", "OGain", "Line1", "Line2", "Line3", "Digital1", "Digital2",
    "Digital3", "PhoneIn", "PhoneOut", "Video", "Radio", "Monitor",
];

/// Mask bit of [`SOUND_MIXER_VOLUME`].
pub const SOUND_MASK_VOLUME: u32 = 1 << SOUND_MIXER_VOLUME;
/// Mask bit of [`SOUND_MIXER_BASS`].
pub const SOUND_MASK_BASS: u32 = 1 << SOUND_MIXER_BASS;
/// Mask bit of [`SOUND_MIXER_TREBLE`].
pub const SOUND_MASK_TREBLE: u32 = 1 << SOUND_MIXER_TREBLE;
/// Mask bit of [`SOUND_MIXER_SYNTH`].
pub const SOUND_MASK_SYNTH: u32 = 1 << SOUND_MIXER_SYNTH;
/// Mask bit of [`SOUND_MIXER_PCM`].
pub const SOUND_MASK_PCM: u32 = 1 << SOUND_MIXER_PCM;
/// Mask bit of [`SOUND_MIXER_SPEAKER`].
pub const SOUND_MASK_SPEAKER: u32 = 1 << SOUND_MIXER_SPEAKER;
/// Mask bit of [`SOUND_MIXER_LINE`].
pub const SOUND_MASK_LINE: u32 = 1 << SOUND_MIXER_LINE;
/// Mask bit of [`SOUND_MIXER_MIC`].
pub const SOUND_MASK_MIC: u32 = 1 << SOUND_MIXER_MIC;
/// Mask bit of [`SOUND_MIXER_CD`].
pub const SOUND_MASK_CD: u32 = 1 << SOUND_MIXER_CD;
/// Mask bit of [`SOUND_MIXER_IMIX`].
pub const SOUND_MASK_IMIX: u32 = 1 << SOUND_MIXER_IMIX;
/// Mask bit of [`SOUND_MIXER_ALTPCM`].
pub const SOUND_MASK_ALTPCM: u32 = 1 << SOUND_MIXER_ALTPCM;
/// Mask bit of [`SOUND_MIXER_RECLEV`].
pub const SOUND_MASK_RECLEV: u32 = 1 << SOUND_MIXER_RECLEV;
/// Mask bit of [`SOUND_MIXER_IGAIN`].
pub const SOUND_MASK_IGAIN: u32 = 1 << SOUND_MIXER_IGAIN;
/// Mask bit of [`SOUND_MIXER_OGAIN`].
pub const SOUND_MASK_OGAIN: u32 = 1 << SOUND_MIXER_OGAIN;
/// Mask bit of [`SOUND_MIXER_LINE1`].
pub const SOUND_MASK_LINE1: u32 = 1 << SOUND_MIXER_LINE1;
/// Mask bit of [`SOUND_MIXER_LINE2`].
pub const SOUND_MASK_LINE2: u32 = 1 << SOUND_MIXER_LINE2;
/// Mask bit of [`SOUND_MIXER_LINE3`].
pub const SOUND_MASK_LINE3: u32 = 1 << SOUND_MIXER_LINE3;
/// Mask bit of [`SOUND_MIXER_DIGITAL1`].
pub const SOUND_MASK_DIGITAL1: u32 = 1 << SOUND_MIXER_DIGITAL1;
/// Mask bit of [`SOUND_MIXER_DIGITAL2`].
pub const SOUND_MASK_DIGITAL2: u32 = 1 << SOUND_MIXER_DIGITAL2;
/// Mask bit of [`SOUND_MIXER_DIGITAL3`].
pub const SOUND_MASK_DIGITAL3: u32 = 1 << SOUND_MIXER_DIGITAL3;
/// Mask bit of [`SOUND_MIXER_PHONEIN`].
pub const SOUND_MASK_PHONEIN: u32 = 1 << SOUND_MIXER_PHONEIN;
/// Mask bit of [`SOUND_MIXER_PHONEOUT`].
pub const SOUND_MASK_PHONEOUT: u32 = 1 << SOUND_MIXER_PHONEOUT;
/// Mask bit of [`SOUND_MIXER_VIDEO`].
pub const SOUND_MASK_VIDEO: u32 = 1 << SOUND_MIXER_VIDEO;
/// Mask bit of [`SOUND_MIXER_RADIO`].
pub const SOUND_MASK_RADIO: u32 = 1 << SOUND_MIXER_RADIO;
/// Mask bit of [`SOUND_MIXER_MONITOR`].
pub const SOUND_MASK_MONITOR: u32 = 1 << SOUND_MIXER_MONITOR;

/// `MIXER_READ(dev)`: read channel `dev` (`int`, left | right << 8, 0..=100
/// each) or, for the pseudo channels 0xf9..=0xff, the corresponding mask.
pub const fn mixer_read(dev: u32) -> u32 {
    ior(M, dev, SIZEOF_INT)
}

/// `MIXER_WRITE(dev)`: set channel `dev` (`int`, in/out, encoded as for
/// [`mixer_read`]); with `SOUND_MIXER_RECSRC`, set the recording sources.
pub const fn mixer_write(dev: u32) -> u32 {
    iowr(M, dev, SIZEOF_INT)
}

/// Read [`SOUND_MIXER_VOLUME`].
pub const SOUND_MIXER_READ_VOLUME: u32 = mixer_read(SOUND_MIXER_VOLUME);
/// Read [`SOUND_MIXER_BASS`].
pub const SOUND_MIXER_READ_BASS: u32 = mixer_read(SOUND_MIXER_BASS);
/// Read [`SOUND_MIXER_TREBLE`].
pub const SOUND_MIXER_READ_TREBLE: u32 = mixer_read(SOUND_MIXER_TREBLE);
/// Read [`SOUND_MIXER_SYNTH`].
pub const SOUND_MIXER_READ_SYNTH: u32 = mixer_read(SOUND_MIXER_SYNTH);
/// Read [`SOUND_MIXER_PCM`].
pub const SOUND_MIXER_READ_PCM: u32 = mixer_read(SOUND_MIXER_PCM);
/// Read [`SOUND_MIXER_SPEAKER`].
pub const SOUND_MIXER_READ_SPEAKER: u32 = mixer_read(SOUND_MIXER_SPEAKER);
/// Read [`SOUND_MIXER_LINE`].
pub const SOUND_MIXER_READ_LINE: u32 = mixer_read(SOUND_MIXER_LINE);
/// Read [`SOUND_MIXER_MIC`].
pub const SOUND_MIXER_READ_MIC: u32 = mixer_read(SOUND_MIXER_MIC);
/// Read [`SOUND_MIXER_CD`].
pub const SOUND_MIXER_READ_CD: u32 = mixer_read(SOUND_MIXER_CD);
/// Read [`SOUND_MIXER_IMIX`].
pub const SOUND_MIXER_READ_IMIX: u32 = mixer_read(SOUND_MIXER_IMIX);
/// Read [`SOUND_MIXER_ALTPCM`].
pub const SOUND_MIXER_READ_ALTPCM: u32 = mixer_read(SOUND_MIXER_ALTPCM);
/// Read [`SOUND_MIXER_RECLEV`].
pub const SOUND_MIXER_READ_RECLEV: u32 = mixer_read(SOUND_MIXER_RECLEV);
/// Read [`SOUND_MIXER_IGAIN`].
pub const SOUND_MIXER_READ_IGAIN: u32 = mixer_read(SOUND_MIXER_IGAIN);
/// Read [`SOUND_MIXER_OGAIN`].
pub const SOUND_MIXER_READ_OGAIN: u32 = mixer_read(SOUND_MIXER_OGAIN);
/// Read [`SOUND_MIXER_LINE1`].
pub const SOUND_MIXER_READ_LINE1: u32 = mixer_read(SOUND_MIXER_LINE1);
/// Read [`SOUND_MIXER_LINE2`].
pub const SOUND_MIXER_READ_LINE2: u32 = mixer_read(SOUND_MIXER_LINE2);
/// Read [`SOUND_MIXER_LINE3`].
pub const SOUND_MIXER_READ_LINE3: u32 = mixer_read(SOUND_MIXER_LINE3);
/// Read [`SOUND_MIXER_DIGITAL1`] (name from FreeBSD; Linux has only `MIXER_READ`).
pub const SOUND_MIXER_READ_DIGITAL1: u32 = mixer_read(SOUND_MIXER_DIGITAL1);
/// Read [`SOUND_MIXER_DIGITAL2`].
pub const SOUND_MIXER_READ_DIGITAL2: u32 = mixer_read(SOUND_MIXER_DIGITAL2);
/// Read [`SOUND_MIXER_DIGITAL3`].
pub const SOUND_MIXER_READ_DIGITAL3: u32 = mixer_read(SOUND_MIXER_DIGITAL3);
/// Read [`SOUND_MIXER_PHONEIN`].
pub const SOUND_MIXER_READ_PHONEIN: u32 = mixer_read(SOUND_MIXER_PHONEIN);
/// Read [`SOUND_MIXER_PHONEOUT`].
pub const SOUND_MIXER_READ_PHONEOUT: u32 = mixer_read(SOUND_MIXER_PHONEOUT);
/// Read [`SOUND_MIXER_VIDEO`].
pub const SOUND_MIXER_READ_VIDEO: u32 = mixer_read(SOUND_MIXER_VIDEO);
/// Read [`SOUND_MIXER_RADIO`].
pub const SOUND_MIXER_READ_RADIO: u32 = mixer_read(SOUND_MIXER_RADIO);
/// Read [`SOUND_MIXER_MONITOR`].
pub const SOUND_MIXER_READ_MONITOR: u32 = mixer_read(SOUND_MIXER_MONITOR);
/// Obsolete; same number as `mixer_read(SOUND_MIXER_NONE)` on Linux.
pub const SOUND_MIXER_READ_MUTE: u32 = mixer_read(SOUND_MIXER_MUTE);
/// Obsolete; same number as `mixer_read(SOUND_MIXER_NONE)` on Linux.
pub const SOUND_MIXER_READ_ENHANCE: u32 = mixer_read(SOUND_MIXER_ENHANCE);
/// Obsolete; same number as `mixer_read(SOUND_MIXER_NONE)` on Linux.
pub const SOUND_MIXER_READ_LOUD: u32 = mixer_read(SOUND_MIXER_LOUD);
/// Read the recording source mask.
pub const SOUND_MIXER_READ_RECSRC: u32 = mixer_read(SOUND_MIXER_RECSRC);
/// Read the mask of available channels.
pub const SOUND_MIXER_READ_DEVMASK: u32 = mixer_read(SOUND_MIXER_DEVMASK);
/// Read the mask of possible recording sources.
pub const SOUND_MIXER_READ_RECMASK: u32 = mixer_read(SOUND_MIXER_RECMASK);
/// Read the mask of stereo channels.
pub const SOUND_MIXER_READ_STEREODEVS: u32 = mixer_read(SOUND_MIXER_STEREODEVS);
/// Read the `SOUND_CAP_*` mixer capabilities.
pub const SOUND_MIXER_READ_CAPS: u32 = mixer_read(SOUND_MIXER_CAPS);

/// Write [`SOUND_MIXER_VOLUME`].
pub const SOUND_MIXER_WRITE_VOLUME: u32 = mixer_write(SOUND_MIXER_VOLUME);
/// Write [`SOUND_MIXER_BASS`].
pub const SOUND_MIXER_WRITE_BASS: u32 = mixer_write(SOUND_MIXER_BASS);
/// Write [`SOUND_MIXER_TREBLE`].
pub const SOUND_MIXER_WRITE_TREBLE: u32 = mixer_write(SOUND_MIXER_TREBLE);
/// Write [`SOUND_MIXER_SYNTH`].
pub const SOUND_MIXER_WRITE_SYNTH: u32 = mixer_write(SOUND_MIXER_SYNTH);
/// Write [`SOUND_MIXER_PCM`].
pub const SOUND_MIXER_WRITE_PCM: u32 = mixer_write(SOUND_MIXER_PCM);
/// Write [`SOUND_MIXER_SPEAKER`].
pub const SOUND_MIXER_WRITE_SPEAKER: u32 = mixer_write(SOUND_MIXER_SPEAKER);
/// Write [`SOUND_MIXER_LINE`].
pub const SOUND_MIXER_WRITE_LINE: u32 = mixer_write(SOUND_MIXER_LINE);
/// Write [`SOUND_MIXER_MIC`].
pub const SOUND_MIXER_WRITE_MIC: u32 = mixer_write(SOUND_MIXER_MIC);
/// Write [`SOUND_MIXER_CD`].
pub const SOUND_MIXER_WRITE_CD: u32 = mixer_write(SOUND_MIXER_CD);
/// Write [`SOUND_MIXER_IMIX`].
pub const SOUND_MIXER_WRITE_IMIX: u32 = mixer_write(SOUND_MIXER_IMIX);
/// Write [`SOUND_MIXER_ALTPCM`].
pub const SOUND_MIXER_WRITE_ALTPCM: u32 = mixer_write(SOUND_MIXER_ALTPCM);
/// Write [`SOUND_MIXER_RECLEV`].
pub const SOUND_MIXER_WRITE_RECLEV: u32 = mixer_write(SOUND_MIXER_RECLEV);
/// Write [`SOUND_MIXER_IGAIN`].
pub const SOUND_MIXER_WRITE_IGAIN: u32 = mixer_write(SOUND_MIXER_IGAIN);
/// Write [`SOUND_MIXER_OGAIN`].
pub const SOUND_MIXER_WRITE_OGAIN: u32 = mixer_write(SOUND_MIXER_OGAIN);
/// Write [`SOUND_MIXER_LINE1`].
pub const SOUND_MIXER_WRITE_LINE1: u32 = mixer_write(SOUND_MIXER_LINE1);
/// Write [`SOUND_MIXER_LINE2`].
pub const SOUND_MIXER_WRITE_LINE2: u32 = mixer_write(SOUND_MIXER_LINE2);
/// Write [`SOUND_MIXER_LINE3`].
pub const SOUND_MIXER_WRITE_LINE3: u32 = mixer_write(SOUND_MIXER_LINE3);
/// Write [`SOUND_MIXER_DIGITAL1`] (name from FreeBSD; Linux has only `MIXER_WRITE`).
pub const SOUND_MIXER_WRITE_DIGITAL1: u32 = mixer_write(SOUND_MIXER_DIGITAL1);
/// Write [`SOUND_MIXER_DIGITAL2`].
pub const SOUND_MIXER_WRITE_DIGITAL2: u32 = mixer_write(SOUND_MIXER_DIGITAL2);
/// Write [`SOUND_MIXER_DIGITAL3`].
pub const SOUND_MIXER_WRITE_DIGITAL3: u32 = mixer_write(SOUND_MIXER_DIGITAL3);
/// Write [`SOUND_MIXER_PHONEIN`].
pub const SOUND_MIXER_WRITE_PHONEIN: u32 = mixer_write(SOUND_MIXER_PHONEIN);
/// Write [`SOUND_MIXER_PHONEOUT`].
pub const SOUND_MIXER_WRITE_PHONEOUT: u32 = mixer_write(SOUND_MIXER_PHONEOUT);
/// Write [`SOUND_MIXER_VIDEO`].
pub const SOUND_MIXER_WRITE_VIDEO: u32 = mixer_write(SOUND_MIXER_VIDEO);
/// Write [`SOUND_MIXER_RADIO`].
pub const SOUND_MIXER_WRITE_RADIO: u32 = mixer_write(SOUND_MIXER_RADIO);
/// Write [`SOUND_MIXER_MONITOR`].
pub const SOUND_MIXER_WRITE_MONITOR: u32 = mixer_write(SOUND_MIXER_MONITOR);
/// Obsolete; same number as `mixer_write(SOUND_MIXER_NONE)` on Linux.
pub const SOUND_MIXER_WRITE_MUTE: u32 = mixer_write(SOUND_MIXER_MUTE);
/// Obsolete; same number as `mixer_write(SOUND_MIXER_NONE)` on Linux.
pub const SOUND_MIXER_WRITE_ENHANCE: u32 = mixer_write(SOUND_MIXER_ENHANCE);
/// Obsolete; same number as `mixer_write(SOUND_MIXER_NONE)` on Linux.
pub const SOUND_MIXER_WRITE_LOUD: u32 = mixer_write(SOUND_MIXER_LOUD);
/// Set the recording source mask.
pub const SOUND_MIXER_WRITE_RECSRC: u32 = mixer_write(SOUND_MIXER_RECSRC);

/// Get mixer identification ([`MixerInfo`]).
pub const SOUND_MIXER_INFO: u32 = ior(M, 101, MixerInfo::SIZE);
/// Old form of `SOUND_MIXER_INFO` ([`OldMixerInfo`]): same nr, smaller size.
pub const SOUND_OLD_MIXER_INFO: u32 = ior(M, 101, OldMixerInfo::SIZE);
/// Driver-private 128-byte record exchange (`mixer_record`, in/out).
pub const SOUND_MIXER_ACCESS: u32 = iowr(M, 102, MIXER_RECORD_SIZE);
/// Automatic gain control on/off (`int`, in/out); card specific.
pub const SOUND_MIXER_AGC: u32 = iowr(M, 103, SIZEOF_INT);
/// 3D stereo enhancement (`int`, in/out); card specific.
pub const SOUND_MIXER_3DSE: u32 = iowr(M, 104, SIZEOF_INT);
/// Driver-private call 1 (`int`, in/out).
pub const SOUND_MIXER_PRIVATE1: u32 = iowr(M, 111, SIZEOF_INT);
/// Driver-private call 2 (`int`, in/out).
pub const SOUND_MIXER_PRIVATE2: u32 = iowr(M, 112, SIZEOF_INT);
/// Driver-private call 3 (`int`, in/out).
pub const SOUND_MIXER_PRIVATE3: u32 = iowr(M, 113, SIZEOF_INT);
/// Driver-private call 4 (`int`, in/out).
pub const SOUND_MIXER_PRIVATE4: u32 = iowr(M, 114, SIZEOF_INT);
/// Driver-private call 5 (`int`, in/out).
pub const SOUND_MIXER_PRIVATE5: u32 = iowr(M, 115, SIZEOF_INT);
/// Driver-internal: query the default levels (`mixer_vol_table`, in/out).
pub const SOUND_MIXER_GETLEVELS: u32 = iowr(M, 116, MIXER_VOL_TABLE_SIZE);
/// Driver-internal: load the default levels (`mixer_vol_table`, in/out).
pub const SOUND_MIXER_SETLEVELS: u32 = iowr(M, 117, MIXER_VOL_TABLE_SIZE);
/// Get the OSS version (`int`, see [`OSS_VERSION`]). Valid on any OSS device.
pub const OSS_GETVERSION: u32 = ior(M, 118, SIZEOF_INT);

// ---------------------------------------------------------------------------
// OSS 4 system information and new mixer API ('X'), names and labels ('Y')
// ---------------------------------------------------------------------------

/// Get global information ([`OssSysinfo`]).
pub const SNDCTL_SYSINFO: u32 = ior(X, 1, OssSysinfo::SIZE);
/// Old name of [`SNDCTL_SYSINFO`].
pub const OSS_SYSINFO: u32 = SNDCTL_SYSINFO;
/// Get the number of mixer devices (`int`).
pub const SNDCTL_MIX_NRMIX: u32 = ior(X, 2, SIZEOF_INT);
/// Get the number of controls of a mixer (`int` mixer number in, count out).
pub const SNDCTL_MIX_NREXT: u32 = iowr(X, 3, SIZEOF_INT);
/// Describe one mixer control ([`OssMixext`], in/out).
pub const SNDCTL_MIX_EXTINFO: u32 = iowr(X, 4, OssMixext::SIZE);
/// Read one mixer control ([`OssMixerValue`], in/out).
pub const SNDCTL_MIX_READ: u32 = iowr(X, 5, OssMixerValue::SIZE);
/// Write one mixer control ([`OssMixerValue`], in/out).
pub const SNDCTL_MIX_WRITE: u32 = iowr(X, 6, OssMixerValue::SIZE);
/// Describe an audio device ([`OssAudioinfo`], in/out; `dev` = -1 for "this fd").
pub const SNDCTL_AUDIOINFO: u32 = iowr(X, 7, OssAudioinfo::SIZE);
/// Get the value names of an enum control ([`OssMixerEnuminfo`], in/out).
pub const SNDCTL_MIX_ENUMINFO: u32 = iowr(X, 8, OssMixerEnuminfo::SIZE);
/// Describe a MIDI port (`oss_midi_info`, [`OSS_MIDI_INFO_SIZE`] bytes, in/out).
pub const SNDCTL_MIDIINFO: u32 = iowr(X, 9, OSS_MIDI_INFO_SIZE);
/// Describe a mixer device ([`OssMixerinfo`], in/out; `dev` = -1 for "this fd").
pub const SNDCTL_MIXERINFO: u32 = iowr(X, 10, OssMixerinfo::SIZE);
/// Describe a sound card ([`OssCardInfo`], in/out).
pub const SNDCTL_CARDINFO: u32 = iowr(X, 11, OssCardInfo::SIZE);
/// Describe an audio engine ([`OssAudioinfo`], in/out).
pub const SNDCTL_ENGINEINFO: u32 = iowr(X, 12, OssAudioinfo::SIZE);
/// Like `SNDCTL_AUDIOINFO`, with extended device selection ([`OssAudioinfo`], in/out).
pub const SNDCTL_AUDIOINFO_EX: u32 = iowr(X, 13, OssAudioinfo::SIZE);
/// Get the description of a mixer control ([`OssMixerEnuminfo`], in/out).
/// 4Front only; FreeBSD does not define it.
pub const SNDCTL_MIX_DESCRIPTION: u32 = iowr(X, 14, OssMixerEnuminfo::SIZE);

/// Set the song name of the stream ([`OssLongname`]).
pub const SNDCTL_SETSONG: u32 = iow(Y, 2, OssLongname::SIZE);
/// Get the song name of the stream ([`OssLongname`]).
pub const SNDCTL_GETSONG: u32 = ior(Y, 2, OssLongname::SIZE);
/// Set the application name shown for this stream ([`OssLongname`]).
pub const SNDCTL_SETNAME: u32 = iow(Y, 3, OssLongname::SIZE);
/// Set the device label ([`OssLabel`]).
pub const SNDCTL_SETLABEL: u32 = iow(Y, 4, OssLabel::SIZE);
/// Get the device label ([`OssLabel`]).
pub const SNDCTL_GETLABEL: u32 = ior(Y, 4, OssLabel::SIZE);

// ---------------------------------------------------------------------------
// Argument values
// ---------------------------------------------------------------------------

// The formats ossd decodes (and the other OSS 3 ones `SNDCTL_DSP_SETFMT` may
// be asked for) are defined with their codecs, in the shared vocabulary.
pub use crate::pcm::format::{
    AFMT_AC3, AFMT_A_LAW, AFMT_FLOAT, AFMT_IMA_ADPCM, AFMT_MPEG, AFMT_MU_LAW, AFMT_QUERY,
    AFMT_S16_BE, AFMT_S16_LE, AFMT_S24_BE, AFMT_S24_LE, AFMT_S24_PACKED, AFMT_S32_BE, AFMT_S32_LE,
    AFMT_S8, AFMT_U16_BE, AFMT_U16_LE, AFMT_U8,
};

/// Ogg Vorbis (compressed). 4Front.
pub const AFMT_VORBIS: u32 = 0x0000_0800;
/// Raw S/PDIF frames. 4Front.
pub const AFMT_SPDIF_RAW: u32 = 0x0002_0000;
/// Signed 16-bit native-endian.
#[cfg(target_endian = "little")]
pub const AFMT_S16_NE: u32 = AFMT_S16_LE;
/// Signed 16-bit native-endian.
#[cfg(target_endian = "big")]
pub const AFMT_S16_NE: u32 = AFMT_S16_BE;
/// Unsigned 16-bit native-endian.
#[cfg(target_endian = "little")]
pub const AFMT_U16_NE: u32 = AFMT_U16_LE;
/// Unsigned 16-bit native-endian.
#[cfg(target_endian = "big")]
pub const AFMT_U16_NE: u32 = AFMT_U16_BE;
/// Signed 32-bit native-endian.
#[cfg(target_endian = "little")]
pub const AFMT_S32_NE: u32 = AFMT_S32_LE;
/// Signed 32-bit native-endian.
#[cfg(target_endian = "big")]
pub const AFMT_S32_NE: u32 = AFMT_S32_BE;
/// Signed 24-bit (in 32) native-endian.
#[cfg(target_endian = "little")]
pub const AFMT_S24_NE: u32 = AFMT_S24_LE;
/// Signed 24-bit (in 32) native-endian.
#[cfg(target_endian = "big")]
pub const AFMT_S24_NE: u32 = AFMT_S24_BE;

/// Capability bits (`SNDCTL_DSP_GETCAPS`, `oss_audioinfo.caps`): low byte is
/// the driver revision.
pub const DSP_CAP_REVISION: u32 = 0x0000_00ff;
/// Full duplex.
pub const DSP_CAP_DUPLEX: u32 = 0x0000_0100;
/// Real-time capable (unused in OSS 4).
pub const DSP_CAP_REALTIME: u32 = 0x0000_0200;
/// Has internal buffering that makes timing imprecise.
pub const DSP_CAP_BATCH: u32 = 0x0000_0400;
/// Has a coprocessor.
pub const DSP_CAP_COPROC: u32 = 0x0000_0800;
/// Supports `SNDCTL_DSP_SETTRIGGER`.
pub const DSP_CAP_TRIGGER: u32 = 0x0000_1000;
/// Supports `mmap()`.
pub const DSP_CAP_MMAP: u32 = 0x0000_2000;
/// Can be opened more than once.
pub const DSP_CAP_MULTI: u32 = 0x0000_4000;
/// Supports `SNDCTL_DSP_BIND_CHANNEL`.
pub const DSP_CAP_BIND: u32 = 0x0000_8000;
/// Can record.
pub const DSP_CAP_INPUT: u32 = 0x0001_0000;
/// Can play.
pub const DSP_CAP_OUTPUT: u32 = 0x0002_0000;
/// Virtual (software) device.
pub const DSP_CAP_VIRTUAL: u32 = 0x0004_0000;
/// Analog output control available.
pub const DSP_CAP_ANALOGOUT: u32 = 0x0010_0000;
/// Analog input control available.
pub const DSP_CAP_ANALOGIN: u32 = 0x0020_0000;
/// Digital output control available.
pub const DSP_CAP_DIGITALOUT: u32 = 0x0040_0000;
/// Digital input control available.
pub const DSP_CAP_DIGITALIN: u32 = 0x0080_0000;
/// Mask of the four analog/digital bits.
pub const DSP_CAP_ADMASK: u32 = 0x00f0_0000;
/// Obsolete; 0 in FreeBSD (4Front 4.2 gives it 0x01000000, FreeBSD's `PCM_CAP_SPECIAL`).
pub const DSP_CAP_SHADOW: u32 = 0x0000_0000;
/// Hidden device.
pub const DSP_CAP_HIDDEN: u32 = 0x0800_0000;
/// Arbitrary sample rates.
pub const DSP_CAP_FREERATE: u32 = 0x1000_0000;
/// Modem device.
pub const DSP_CAP_MODEM: u32 = 0x2000_0000;
/// The default device.
pub const DSP_CAP_DEFAULT: u32 = 0x4000_0000;
/// Preferred channel usage: mask.
pub const DSP_CH_MASK: u32 = 0x0600_0000;
/// Preferred channel usage: none.
pub const DSP_CH_ANY: u32 = 0x0000_0000;
/// Preferred channel usage: mono.
pub const DSP_CH_MONO: u32 = 0x0200_0000;
/// Preferred channel usage: stereo.
pub const DSP_CH_STEREO: u32 = 0x0400_0000;
/// Preferred channel usage: more than two channels.
pub const DSP_CH_MULTI: u32 = 0x0600_0000;

/// OSS 4 name of [`DSP_CAP_REVISION`].
pub const PCM_CAP_REVISION: u32 = DSP_CAP_REVISION;
/// OSS 4 name of [`DSP_CAP_DUPLEX`].
pub const PCM_CAP_DUPLEX: u32 = DSP_CAP_DUPLEX;
/// OSS 4 name of [`DSP_CAP_REALTIME`].
pub const PCM_CAP_REALTIME: u32 = DSP_CAP_REALTIME;
/// OSS 4 name of [`DSP_CAP_BATCH`].
pub const PCM_CAP_BATCH: u32 = DSP_CAP_BATCH;
/// OSS 4 name of [`DSP_CAP_COPROC`].
pub const PCM_CAP_COPROC: u32 = DSP_CAP_COPROC;
/// OSS 4 name of [`DSP_CAP_TRIGGER`].
pub const PCM_CAP_TRIGGER: u32 = DSP_CAP_TRIGGER;
/// OSS 4 name of [`DSP_CAP_MMAP`].
pub const PCM_CAP_MMAP: u32 = DSP_CAP_MMAP;
/// OSS 4 name of [`DSP_CAP_MULTI`].
pub const PCM_CAP_MULTI: u32 = DSP_CAP_MULTI;
/// OSS 4 name of [`DSP_CAP_BIND`].
pub const PCM_CAP_BIND: u32 = DSP_CAP_BIND;
/// OSS 4 name of [`DSP_CAP_INPUT`].
pub const PCM_CAP_INPUT: u32 = DSP_CAP_INPUT;
/// OSS 4 name of [`DSP_CAP_OUTPUT`].
pub const PCM_CAP_OUTPUT: u32 = DSP_CAP_OUTPUT;
/// OSS 4 name of [`DSP_CAP_VIRTUAL`].
pub const PCM_CAP_VIRTUAL: u32 = DSP_CAP_VIRTUAL;
/// OSS 4 name of [`DSP_CAP_ANALOGOUT`].
pub const PCM_CAP_ANALOGOUT: u32 = DSP_CAP_ANALOGOUT;
/// OSS 4 name of [`DSP_CAP_ANALOGIN`].
pub const PCM_CAP_ANALOGIN: u32 = DSP_CAP_ANALOGIN;
/// OSS 4 name of [`DSP_CAP_DIGITALOUT`].
pub const PCM_CAP_DIGITALOUT: u32 = DSP_CAP_DIGITALOUT;
/// OSS 4 name of [`DSP_CAP_DIGITALIN`].
pub const PCM_CAP_DIGITALIN: u32 = DSP_CAP_DIGITALIN;
/// OSS 4 name of [`DSP_CAP_ADMASK`].
pub const PCM_CAP_ADMASK: u32 = DSP_CAP_ADMASK;
/// Not for ordinary multimedia use (FreeBSD).
pub const PCM_CAP_SPECIAL: u32 = 0x0100_0000;
/// OSS 4 name of [`DSP_CAP_SHADOW`].
pub const PCM_CAP_SHADOW: u32 = DSP_CAP_SHADOW;
/// OSS 4 name of [`DSP_CAP_HIDDEN`].
pub const PCM_CAP_HIDDEN: u32 = DSP_CAP_HIDDEN;
/// OSS 4 name of [`DSP_CAP_FREERATE`].
pub const PCM_CAP_FREERATE: u32 = DSP_CAP_FREERATE;
/// OSS 4 name of [`DSP_CAP_MODEM`].
pub const PCM_CAP_MODEM: u32 = DSP_CAP_MODEM;
/// OSS 4 name of [`DSP_CAP_DEFAULT`].
pub const PCM_CAP_DEFAULT: u32 = DSP_CAP_DEFAULT;

/// `SNDCTL_DSP_[GS]ETTRIGGER` bit: recording enabled.
pub const PCM_ENABLE_INPUT: u32 = 0x0000_0001;
/// `SNDCTL_DSP_[GS]ETTRIGGER` bit: playback enabled.
pub const PCM_ENABLE_OUTPUT: u32 = 0x0000_0002;
/// `oss_audioinfo.busy`: open for reading.
pub const OPEN_READ: u32 = PCM_ENABLE_INPUT;
/// `oss_audioinfo.busy`: open for writing.
pub const OPEN_WRITE: u32 = PCM_ENABLE_OUTPUT;
/// `oss_audioinfo.busy`: open for both.
pub const OPEN_READWRITE: u32 = OPEN_READ | OPEN_WRITE;

/// `SNDCTL_DSP_PROFILE`: normal application.
pub const APF_NORMAL: u32 = 0;
/// `SNDCTL_DSP_PROFILE`: underruns caused by network delays.
pub const APF_NETWORK: u32 = 1;
/// `SNDCTL_DSP_PROFILE`: CPU-intensive application.
pub const APF_CPUINTENS: u32 = 2;

/// `SNDCTL_DSP_BIND_CHANNEL`: query the current binding.
pub const DSP_BIND_QUERY: u32 = 0x0000_0000;
/// Front speakers.
pub const DSP_BIND_FRONT: u32 = 0x0000_0001;
/// Surround speakers.
pub const DSP_BIND_SURR: u32 = 0x0000_0002;
/// Center and LFE.
pub const DSP_BIND_CENTER_LFE: u32 = 0x0000_0004;
/// Handset.
pub const DSP_BIND_HANDSET: u32 = 0x0000_0008;
/// Microphone.
pub const DSP_BIND_MIC: u32 = 0x0000_0010;
/// Modem line 1.
pub const DSP_BIND_MODEM1: u32 = 0x0000_0020;
/// Modem line 2.
pub const DSP_BIND_MODEM2: u32 = 0x0000_0040;
/// I2S.
pub const DSP_BIND_I2S: u32 = 0x0000_0080;
/// S/PDIF.
pub const DSP_BIND_SPDIF: u32 = 0x0000_0100;
/// Rear speakers (OSS 4; not in the Linux header).
pub const DSP_BIND_REAR: u32 = 0x0000_0200;

/// Channel id (nibble of the channel order word): undefined.
pub const CHID_UNDEF: u64 = 0;
/// Channel id: left.
pub const CHID_L: u64 = 1;
/// Channel id: right.
pub const CHID_R: u64 = 2;
/// Channel id: center.
pub const CHID_C: u64 = 3;
/// Channel id: low-frequency effects.
pub const CHID_LFE: u64 = 4;
/// Channel id: left surround.
pub const CHID_LS: u64 = 5;
/// Channel id: right surround.
pub const CHID_RS: u64 = 6;
/// Channel id: left rear.
pub const CHID_LR: u64 = 7;
/// Channel id: right rear.
pub const CHID_RR: u64 = 8;
/// Channel order "undefined".
pub const CHNORDER_UNDEF: u64 = 0x0000_0000_0000_0000;
/// The default channel order `SNDCTL_DSP_GET_CHNORDER` reports: channel `i`
/// (0-based, nibble `i`) carries `CHID` `i + 1`, i.e. L R C LFE LS RS LR RR.
pub const CHNORDER_NORMAL: u64 = 0x0000_0000_8765_4321;

/// `oss_mixext.type` entry types: device root.
pub const MIXT_DEVROOT: i32 = 0;
/// Control group.
pub const MIXT_GROUP: i32 = 1;
/// On/off switch.
pub const MIXT_ONOFF: i32 = 2;
/// Enumerated value (0..maxvalue).
pub const MIXT_ENUM: i32 = 3;
/// Mono slider.
pub const MIXT_MONOSLIDER: i32 = 4;
/// Stereo slider (left in bits 0-7, right in bits 8-15).
pub const MIXT_STEREOSLIDER: i32 = 5;
/// Read-only text.
pub const MIXT_MESSAGE: i32 = 6;
/// Mono VU meter.
pub const MIXT_MONOVU: i32 = 7;
/// Stereo VU meter.
pub const MIXT_STEREOVU: i32 = 8;
/// Mono peak meter.
pub const MIXT_MONOPEAK: i32 = 9;
/// Stereo peak meter.
pub const MIXT_STEREOPEAK: i32 = 10;
/// Radio button group.
pub const MIXT_RADIOGROUP: i32 = 11;
/// Separator between normal and extension entries.
pub const MIXT_MARKER: i32 = 12;
/// Decimal value.
pub const MIXT_VALUE: i32 = 13;
/// Hexadecimal value.
pub const MIXT_HEXVALUE: i32 = 14;
/// Mono attenuation (obsolete).
pub const MIXT_MONODB: i32 = 15;
/// Stereo attenuation (obsolete).
pub const MIXT_STEREODB: i32 = 16;
/// Mono slider with full integer range.
pub const MIXT_SLIDER: i32 = 17;
/// 3D control.
pub const MIXT_3D: i32 = 18;
/// `oss_mixext.flags`: value is readable.
pub const MIXF_READABLE: i32 = 0x0000_0001;
/// Value is writeable.
pub const MIXF_WRITEABLE: i32 = 0x0000_0002;
/// Value may change by itself; poll it.
pub const MIXF_POLL: i32 = 0x0000_0004;
/// Value is in Hz.
pub const MIXF_HZ: i32 = 0x0000_0008;
/// Value is a string (dynamic extension).
pub const MIXF_STRING: i32 = 0x0000_0010;
/// Same bit as `MIXF_STRING`.
pub const MIXF_DYNAMIC: i32 = 0x0000_0010;
/// Value is 1 = OK, 0 = FAIL.
pub const MIXF_OKFAIL: i32 = 0x0000_0020;
/// Needs little vertical space.
pub const MIXF_FLAT: i32 = 0x0000_0040;
/// Legacy mixer control group.
pub const MIXF_LEGACY: i32 = 0x0000_0080;
/// `oss_mixerinfo.caps`: virtual mixer.
pub const MIXER_CAP_VIRTUAL: i32 = 0x0000_0001;

// ---------------------------------------------------------------------------
// C string helpers
// ---------------------------------------------------------------------------

/// Stores `s` in the C `char` array `dst` as a NUL-terminated string.
///
/// The string is truncated (at a UTF-8 character boundary) so that at least
/// one NUL follows it; the rest of `dst` is zeroed. An empty `dst` is left
/// alone.
pub fn set_cstr(dst: &mut [u8], s: &str) {
    let Some(room) = dst.len().checked_sub(1) else {
        return;
    };
    let mut len = s.len().min(room);
    while !s.is_char_boundary(len) {
        len -= 1;
    }
    dst[..len].copy_from_slice(&s.as_bytes()[..len]);
    dst[len..].fill(0);
}

/// Returns a `char[N]` holding `s`, NUL-terminated (see [`set_cstr`]).
pub fn cstr_array<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    set_cstr(&mut out, s);
    out
}

/// The bytes of a C `char` array up to (not including) the first NUL, or the
/// whole array if it has none.
pub fn cstr_bytes(src: &[u8]) -> &[u8] {
    match src.iter().position(|&b| b == 0) {
        Some(end) => &src[..end],
        None => src,
    }
}

/// The string in a C `char` array (see [`cstr_bytes`]), invalid UTF-8 replaced.
pub fn cstr_to_string(src: &[u8]) -> String {
    String::from_utf8_lossy(cstr_bytes(src)).into_owned()
}

// ---------------------------------------------------------------------------
// Byte codec (private)
// ---------------------------------------------------------------------------

/// Sequential writer over a zeroed output buffer.
struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    fn bytes(&mut self, b: &[u8]) {
        self.buf[self.pos..self.pos + b.len()].copy_from_slice(b);
        self.pos += b.len();
    }

    /// Skips `n` padding bytes (the buffer is already zeroed).
    fn pad(&mut self, n: usize) {
        self.pos += n;
    }

    fn finish(self) {
        debug_assert_eq!(self.pos, self.buf.len(), "struct encoder size mismatch");
    }
}

/// Sequential reader over exactly `SIZE` input bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], size: usize) -> Option<Self> {
        Some(Reader {
            buf: bytes.get(..size)?,
            pos: 0,
        })
    }

    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.buf[self.pos..self.pos + N]);
        self.pos += N;
        out
    }

    fn skip(&mut self, n: usize) {
        self.pos += n;
    }

    fn finish(self) {
        debug_assert_eq!(self.pos, self.buf.len(), "struct decoder size mismatch");
    }
}

/// A C field type: knows how to put itself in native byte order.
trait Wire: Sized {
    fn put(&self, w: &mut Writer<'_>);
    fn get(r: &mut Reader<'_>) -> Self;
    fn zero() -> Self;
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn put(&self, w: &mut Writer<'_>) {
                w.bytes(&self.to_ne_bytes());
            }
            fn get(r: &mut Reader<'_>) -> Self {
                <$t>::from_ne_bytes(r.take())
            }
            fn zero() -> Self {
                0
            }
        }
    )*};
}

wire_int!(u8, i16, u16, i32, u32, i64, u64, usize);

impl<T: Wire + Copy, const N: usize> Wire for [T; N] {
    fn put(&self, w: &mut Writer<'_>) {
        for v in self {
            v.put(w);
        }
    }
    fn get(r: &mut Reader<'_>) -> Self {
        let mut out = [T::zero(); N];
        for v in out.iter_mut() {
            *v = T::get(r);
        }
        out
    }
    fn zero() -> Self {
        [T::zero(); N]
    }
}

/// Implements `SIZE`, `to_bytes`, `from_bytes` and `Default` (all zero) for a
/// struct whose C layout is its fields in the given order followed by
/// `tail_pad` bytes of trailing alignment padding.
macro_rules! c_layout {
    ($ty:ident, size = $size:expr, tail_pad = $pad:expr, [$($field:ident),+ $(,)?]) => {
        impl $ty {
            /// `sizeof` of the C struct, trailing padding included; this is
            /// the size encoded in the ioctl numbers that carry it.
            pub const SIZE: usize = $size;

            /// Encodes the C layout: native byte order, padding zeroed.
            pub fn to_bytes(&self) -> [u8; Self::SIZE] {
                let mut out = [0u8; Self::SIZE];
                let mut w = Writer::new(&mut out);
                $( self.$field.put(&mut w); )+
                w.pad($pad);
                w.finish();
                out
            }

            /// Decodes the C layout from the first `SIZE` bytes of `bytes`
            /// (`None` if there are fewer). Padding and extra bytes are ignored.
            pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
                let mut r = Reader::new(bytes, Self::SIZE)?;
                let value = Self { $( $field: Wire::get(&mut r), )+ };
                r.skip($pad);
                r.finish();
                Some(value)
            }
        }

        impl Default for $ty {
            fn default() -> Self {
                Self { $( $field: Wire::zero(), )+ }
            }
        }
    };
}

// ---------------------------------------------------------------------------
// Structs
// ---------------------------------------------------------------------------

/// C `audio_buf_info` (`SNDCTL_DSP_GETOSPACE`/`GETISPACE`), 16 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `fragments` |
/// | 4 | `int` | `fragstotal` |
/// | 8 | `int` | `fragsize` |
/// | 12 | `int` | `bytes` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioBufInfo {
    /// Whole fragments that can be written/read without blocking.
    pub fragments: i32,
    /// Total fragments in the buffer.
    pub fragstotal: i32,
    /// Fragment size in bytes.
    pub fragsize: i32,
    /// Bytes that can be written/read without blocking (may exceed
    /// `fragments * fragsize`).
    pub bytes: i32,
}
c_layout!(
    AudioBufInfo,
    size = 16,
    tail_pad = 0,
    [fragments, fragstotal, fragsize, bytes]
);

/// C `count_info` (`SNDCTL_DSP_GETIPTR`/`GETOPTR`), 12 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `bytes` |
/// | 4 | `int` | `blocks` |
/// | 8 | `int` | `ptr` |
///
/// Linux declares `bytes` as `int`; OSS 4 as `unsigned int` (same bytes).
/// Either way it wraps: store the low 32 bits of the running byte count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountInfo {
    /// Total bytes processed since open/reset (wrapping).
    pub bytes: i32,
    /// Fragment transitions since the previous call.
    pub blocks: i32,
    /// Current position inside the buffer, in bytes.
    pub ptr: i32,
}
c_layout!(CountInfo, size = 12, tail_pad = 0, [bytes, blocks, ptr]);

/// C `buffmem_desc` (`SNDCTL_DSP_MAPINBUF`/`MAPOUTBUF`): a pointer and an
/// `int`, so 16 bytes on 64-bit targets (4 bytes of trailing padding) and 8
/// on 32-bit ones. The pointer is in the client's address space; ossd never
/// dereferences it.
///
/// | off (64-bit) | C type | field |
/// |----:|--------|-------|
/// | 0 | `unsigned *` | `buffer` |
/// | 8 | `int` | `size` |
/// | 12 | - | padding |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuffmemDesc {
    /// Buffer address in the caller's address space.
    pub buffer: usize,
    /// Buffer size in bytes.
    pub size: i32,
}
c_layout!(
    BuffmemDesc,
    size = 2 * core::mem::size_of::<usize>(),
    tail_pad = core::mem::size_of::<usize>() - 4,
    [buffer, size]
);

/// C `oss_count_t` (`SNDCTL_DSP_CURRENT_IPTR`/`CURRENT_OPTR`), 144 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `long long` | `samples` |
/// | 8 | `int` | `fifo_samples` |
/// | 12 | `int[32]` | `filler` |
/// | 140 | - | 4 bytes padding (struct aligned to 8 by `long long`) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssCount {
    /// Frames ("samples" per channel) processed since open/reset.
    pub samples: i64,
    /// Frames queued in the device FIFO (delay estimate).
    pub fifo_samples: i32,
    /// Reserved, zero.
    pub filler: [i32; 32],
}
c_layout!(
    OssCount,
    size = 144,
    tail_pad = 4,
    [samples, fifo_samples, filler]
);

/// C `mixer_info` (`SOUND_MIXER_INFO`), 92 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `char[16]` | `id` |
/// | 16 | `char[32]` | `name` |
/// | 48 | `int` | `modify_counter` |
/// | 52 | `int[10]` | `fillers` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixerInfo {
    /// Short identifier.
    pub id: [u8; 16],
    /// Human-readable name.
    pub name: [u8; 32],
    /// Incremented on every mixer change.
    pub modify_counter: i32,
    /// Reserved (4Front 4.x reuses it for card/port numbers and a handle).
    pub fillers: [i32; 10],
}
c_layout!(
    MixerInfo,
    size = 92,
    tail_pad = 0,
    [id, name, modify_counter, fillers]
);

/// C `_old_mixer_info` (`SOUND_OLD_MIXER_INFO`), 48 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `char[16]` | `id` |
/// | 16 | `char[32]` | `name` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OldMixerInfo {
    /// Short identifier.
    pub id: [u8; 16],
    /// Human-readable name.
    pub name: [u8; 32],
}
c_layout!(OldMixerInfo, size = 48, tail_pad = 0, [id, name]);

/// C `audio_errinfo` (`SNDCTL_DSP_GETERROR`), 104 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `play_underruns` |
/// | 4 | `int` | `rec_overruns` |
/// | 8 | `unsigned` | `play_ptradjust` |
/// | 12 | `unsigned` | `rec_ptradjust` |
/// | 16 | `int` | `play_errorcount` |
/// | 20 | `int` | `rec_errorcount` |
/// | 24 | `int` | `play_lasterror` |
/// | 28 | `int` | `rec_lasterror` |
/// | 32 | `int` | `play_errorparm` |
/// | 36 | `int` | `rec_errorparm` |
/// | 40 | `int[16]` | `filler` |
///
/// This is 4Front's layout (`int` errorparm), giving 0x80685019 for
/// `SNDCTL_DSP_GETERROR`. FreeBSD declares the two errorparm fields `long`;
/// a Linux LP64 program built against such a header would send 0x80705019
/// (112 bytes). A dispatcher that wants to serve both can match on
/// `ioc_type`/`ioc_nr` and size its reply with `ioc_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioErrInfo {
    /// Playback underruns since the previous call.
    pub play_underruns: i32,
    /// Recording overruns since the previous call.
    pub rec_overruns: i32,
    /// Playback pointer adjustments (obsolete).
    pub play_ptradjust: u32,
    /// Recording pointer adjustments (obsolete).
    pub rec_ptradjust: u32,
    /// Playback errors.
    pub play_errorcount: i32,
    /// Recording errors.
    pub rec_errorcount: i32,
    /// Last playback error code.
    pub play_lasterror: i32,
    /// Last recording error code.
    pub rec_lasterror: i32,
    /// Parameter of the last playback error.
    pub play_errorparm: i32,
    /// Parameter of the last recording error.
    pub rec_errorparm: i32,
    /// Reserved, zero.
    pub filler: [i32; 16],
}
c_layout!(
    AudioErrInfo,
    size = 104,
    tail_pad = 0,
    [
        play_underruns,
        rec_overruns,
        play_ptradjust,
        rec_ptradjust,
        play_errorcount,
        rec_errorcount,
        play_lasterror,
        rec_lasterror,
        play_errorparm,
        rec_errorparm,
        filler,
    ]
);

/// C `oss_syncgroup` (`SNDCTL_DSP_SYNCGROUP`), 72 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `id` |
/// | 4 | `int` | `mode` |
/// | 8 | `int[16]` | `filler` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssSyncgroup {
    /// Group id (0 to create a new group; returned by the driver).
    pub id: i32,
    /// `PCM_ENABLE_*` directions to add to the group.
    pub mode: i32,
    /// Reserved, zero.
    pub filler: [i32; 16],
}
c_layout!(OssSyncgroup, size = 72, tail_pad = 0, [id, mode, filler]);

/// C `oss_label_t` (`char[16]`; `SNDCTL_SETLABEL`/`GETLABEL`), 16 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssLabel {
    /// NUL-terminated label.
    pub label: [u8; OSS_LABEL_SIZE],
}
c_layout!(OssLabel, size = OSS_LABEL_SIZE, tail_pad = 0, [label]);

impl OssLabel {
    /// A label holding `s` (truncated to 15 bytes).
    pub fn new(s: &str) -> Self {
        OssLabel {
            label: cstr_array(s),
        }
    }

    /// The label as a string.
    pub fn to_string_lossy(&self) -> String {
        cstr_to_string(&self.label)
    }
}

/// C `oss_longname_t` (`char[64]`; `SNDCTL_SETNAME`, `SETSONG`/`GETSONG`), 64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssLongname {
    /// NUL-terminated name.
    pub name: [u8; OSS_LONGNAME_SIZE],
}
c_layout!(OssLongname, size = OSS_LONGNAME_SIZE, tail_pad = 0, [name]);

impl OssLongname {
    /// A name holding `s` (truncated to 63 bytes).
    pub fn new(s: &str) -> Self {
        OssLongname {
            name: cstr_array(s),
        }
    }

    /// The name as a string.
    pub fn to_string_lossy(&self) -> String {
        cstr_to_string(&self.name)
    }
}

/// C `oss_peaks_t` (`unsigned short[128]`; `SNDCTL_DSP_GETIPEAKS`/`GETOPEAKS`).
pub type OssPeaks = [u16; MAX_PEAK_CHANNELS];
/// `sizeof(oss_peaks_t)`.
pub const OSS_PEAKS_SIZE: usize = MAX_PEAK_CHANNELS * 2;

/// Encodes an [`OssPeaks`] (native byte order).
pub fn peaks_to_bytes(peaks: &OssPeaks) -> [u8; OSS_PEAKS_SIZE] {
    let mut out = [0u8; OSS_PEAKS_SIZE];
    let mut w = Writer::new(&mut out);
    peaks.put(&mut w);
    w.finish();
    out
}

/// C `oss_sysinfo` (`SNDCTL_SYSINFO`), 1248 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `char[32]` | `product` |
/// | 32 | `char[32]` | `version` |
/// | 64 | `int` | `versionnum` |
/// | 68 | `char[128]` | `options` |
/// | 196 | `int` | `numaudios` |
/// | 200 | `int[8]` | `openedaudio` |
/// | 232 | `int` | `numsynths` |
/// | 236 | `int` | `nummidis` |
/// | 240 | `int` | `numtimers` |
/// | 244 | `int` | `nummixers` |
/// | 248 | `int[8]` | `openedmidi` |
/// | 280 | `int` | `numcards` |
/// | 284 | `int` | `numaudioengines` |
/// | 288 | `char[16]` | `license` |
/// | 304 | `char[256]` | `revision_info` |
/// | 560 | `int[172]` | `filler` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssSysinfo {
    /// Product name, e.g. "ossd".
    pub product: [u8; 32],
    /// Version string, e.g. "4.1".
    pub version: [u8; 32],
    /// Version number, see [`OSS_VERSION`].
    pub versionnum: i32,
    /// Reserved.
    pub options: [u8; 128],
    /// Number of audio devices.
    pub numaudios: i32,
    /// Bit mask of busy audio devices.
    pub openedaudio: [i32; 8],
    /// Number of synthesizers.
    pub numsynths: i32,
    /// Number of MIDI ports.
    pub nummidis: i32,
    /// Number of timers.
    pub numtimers: i32,
    /// Number of mixers.
    pub nummixers: i32,
    /// Bit mask of busy MIDI ports.
    pub openedmidi: [i32; 8],
    /// Number of sound cards.
    pub numcards: i32,
    /// Number of audio engines.
    pub numaudioengines: i32,
    /// License, e.g. "GPL".
    pub license: [u8; 16],
    /// For internal use.
    pub revision_info: [u8; 256],
    /// Reserved (OSS sets it to -1).
    pub filler: [i32; 172],
}
c_layout!(
    OssSysinfo,
    size = 1248,
    tail_pad = 0,
    [
        product,
        version,
        versionnum,
        options,
        numaudios,
        openedaudio,
        numsynths,
        nummidis,
        numtimers,
        nummixers,
        openedmidi,
        numcards,
        numaudioengines,
        license,
        revision_info,
        filler,
    ]
);

/// C `oss_audioinfo` (`SNDCTL_AUDIOINFO`, `SNDCTL_AUDIOINFO_EX`,
/// `SNDCTL_ENGINEINFO`), 1180 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `dev` |
/// | 4 | `char[64]` | `name` |
/// | 68 | `int` | `busy` |
/// | 72 | `int` | `pid` |
/// | 76 | `int` | `caps` |
/// | 80 | `int` | `iformats` |
/// | 84 | `int` | `oformats` |
/// | 88 | `int` | `magic` |
/// | 92 | `char[64]` | `cmd` |
/// | 156 | `int` | `card_number` |
/// | 160 | `int` | `port_number` |
/// | 164 | `int` | `mixer_dev` |
/// | 168 | `int` | `real_device` (4Front: `legacy_device`) |
/// | 172 | `int` | `enabled` |
/// | 176 | `int` | `flags` |
/// | 180 | `int` | `min_rate` |
/// | 184 | `int` | `max_rate` |
/// | 188 | `int` | `min_channels` |
/// | 192 | `int` | `max_channels` |
/// | 196 | `int` | `binding` |
/// | 200 | `int` | `rate_source` |
/// | 204 | `char[32]` | `handle` |
/// | 236 | `unsigned` | `nrates` |
/// | 240 | `unsigned[20]` | `rates` |
/// | 320 | `char[64]` | `song_name` (`oss_longname_t`) |
/// | 384 | `char[16]` | `label` (`oss_label_t`) |
/// | 400 | `int` | `latency` |
/// | 404 | `char[32]` | `devnode` (`oss_devnode_t`) |
/// | 436 | `int` | `next_play_engine` |
/// | 440 | `int` | `next_rec_engine` |
/// | 444 | `int[184]` | `filler` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssAudioinfo {
    /// Device number (in: which device, -1 = the one this fd is open on).
    pub dev: i32,
    /// Device name.
    pub name: [u8; 64],
    /// 0, `OPEN_READ`, `OPEN_WRITE` or `OPEN_READWRITE`.
    pub busy: i32,
    /// Pid of the process using it, or -1.
    pub pid: i32,
    /// `PCM_CAP_*` bits.
    pub caps: i32,
    /// `AFMT_*` mask of recording formats.
    pub iformats: i32,
    /// `AFMT_*` mask of playback formats.
    pub oformats: i32,
    /// Reserved for internal use.
    pub magic: i32,
    /// Command name of the process using it.
    pub cmd: [u8; 64],
    /// Card number.
    pub card_number: i32,
    /// Port number.
    pub port_number: i32,
    /// Mixer device number, or -1.
    pub mixer_dev: i32,
    /// Legacy device number (`/dev/dspN`), obsolete.
    pub real_device: i32,
    /// 1 if usable now.
    pub enabled: i32,
    /// Internal flags.
    pub flags: i32,
    /// Lowest sample rate.
    pub min_rate: i32,
    /// Highest sample rate.
    pub max_rate: i32,
    /// Fewest channels.
    pub min_channels: i32,
    /// Most channels.
    pub max_channels: i32,
    /// `DSP_BIND_*`, 0 = undefined.
    pub binding: i32,
    /// Rate source.
    pub rate_source: i32,
    /// Persistent device handle.
    pub handle: [u8; 32],
    /// Number of valid entries in `rates` (0: any rate in min..=max).
    pub nrates: u32,
    /// Supported sample rates.
    pub rates: [u32; OSS_MAX_SAMPLE_RATES],
    /// Song name, if set.
    pub song_name: [u8; OSS_LONGNAME_SIZE],
    /// Device label, if set.
    pub label: [u8; OSS_LABEL_SIZE],
    /// Latency in microseconds, -1 = unknown.
    pub latency: i32,
    /// Device node path, e.g. "/dev/dsp".
    pub devnode: [u8; OSS_DEVNODE_SIZE],
    /// Next playback engine, for enumeration.
    pub next_play_engine: i32,
    /// Next recording engine, for enumeration.
    pub next_rec_engine: i32,
    /// Reserved, zero.
    pub filler: [i32; 184],
}
c_layout!(
    OssAudioinfo,
    size = 1180,
    tail_pad = 0,
    [
        dev,
        name,
        busy,
        pid,
        caps,
        iformats,
        oformats,
        magic,
        cmd,
        card_number,
        port_number,
        mixer_dev,
        real_device,
        enabled,
        flags,
        min_rate,
        max_rate,
        min_channels,
        max_channels,
        binding,
        rate_source,
        handle,
        nrates,
        rates,
        song_name,
        label,
        latency,
        devnode,
        next_play_engine,
        next_rec_engine,
        filler,
    ]
);

/// C `oss_mixerinfo` (`SNDCTL_MIXERINFO`), 1136 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `dev` |
/// | 4 | `char[16]` | `id` |
/// | 20 | `char[32]` | `name` |
/// | 52 | `int` | `modify_counter` |
/// | 56 | `int` | `card_number` |
/// | 60 | `int` | `port_number` |
/// | 64 | `char[32]` | `handle` |
/// | 96 | `int` | `magic` |
/// | 100 | `int` | `enabled` |
/// | 104 | `int` | `caps` |
/// | 108 | `int` | `flags` |
/// | 112 | `int` | `nrext` |
/// | 116 | `int` | `priority` |
/// | 120 | `int[254]` | `filler` |
///
/// 4Front 4.2 names the first 9 filler words `devnode` (`char[32]`, at 120)
/// and `legacy_device` (`int`, at 152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssMixerinfo {
    /// Mixer number (in: which mixer, -1 = the one this fd is open on).
    pub dev: i32,
    /// Short identifier.
    pub id: [u8; 16],
    /// Human-readable name.
    pub name: [u8; 32],
    /// Incremented on every change.
    pub modify_counter: i32,
    /// Card number.
    pub card_number: i32,
    /// Port number.
    pub port_number: i32,
    /// Persistent handle.
    pub handle: [u8; 32],
    /// Reserved.
    pub magic: i32,
    /// 1 if usable now.
    pub enabled: i32,
    /// `MIXER_CAP_*` bits.
    pub caps: i32,
    /// Reserved.
    pub flags: i32,
    /// Number of controls (`SNDCTL_MIX_NREXT`).
    pub nrext: i32,
    /// Higher = better default mixer; -2 or less: never the default.
    pub priority: i32,
    /// Reserved, zero.
    pub filler: [i32; 254],
}
c_layout!(
    OssMixerinfo,
    size = 1136,
    tail_pad = 0,
    [
        dev,
        id,
        name,
        modify_counter,
        card_number,
        port_number,
        handle,
        magic,
        enabled,
        caps,
        flags,
        nrext,
        priority,
        filler,
    ]
);

/// C `oss_card_info` (`SNDCTL_CARDINFO`), 1176 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `card` |
/// | 4 | `char[16]` | `shortname` |
/// | 20 | `char[128]` | `longname` |
/// | 148 | `int` | `flags` |
/// | 152 | `char[400]` | `hw_info` |
/// | 552 | `int` | `intr_count` |
/// | 556 | `int` | `ack_count` |
/// | 560 | `int[154]` | `filler` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssCardInfo {
    /// Card number (in).
    pub card: i32,
    /// Short name.
    pub shortname: [u8; 16],
    /// Long name.
    pub longname: [u8; 128],
    /// Flags.
    pub flags: i32,
    /// Free-form hardware description.
    pub hw_info: [u8; 400],
    /// Interrupt count (reserved).
    pub intr_count: i32,
    /// Acknowledged interrupt count (reserved).
    pub ack_count: i32,
    /// Reserved, zero.
    pub filler: [i32; 154],
}
c_layout!(
    OssCardInfo,
    size = 1176,
    tail_pad = 0,
    [card, shortname, longname, flags, hw_info, intr_count, ack_count, filler]
);

/// C `oss_mixext` (`SNDCTL_MIX_EXTINFO`), 220 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `dev` |
/// | 4 | `int` | `ctrl` |
/// | 8 | `int` | `type` |
/// | 12 | `int` | `maxvalue` |
/// | 16 | `int` | `minvalue` |
/// | 20 | `int` | `flags` |
/// | 24 | `char[16]` | `id` |
/// | 40 | `int` | `parent` |
/// | 44 | `int` | `dummy` |
/// | 48 | `int` | `timestamp` |
/// | 52 | `char[64]` | `data` |
/// | 116 | `unsigned char[32]` | `enum_present` |
/// | 148 | `int` | `control_no` |
/// | 152 | `unsigned` | `desc` |
/// | 156 | `char[32]` | `extname` |
/// | 188 | `int` | `update_counter` |
/// | 192 | `int[7]` | `filler` (4Front 4.2: `rgbcolor` + `filler[6]`) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssMixext {
    /// Mixer number (in).
    pub dev: i32,
    /// Control number (in).
    pub ctrl: i32,
    /// `MIXT_*` entry type.
    pub r#type: i32,
    /// Largest value.
    pub maxvalue: i32,
    /// Smallest value.
    pub minvalue: i32,
    /// `MIXF_*` bits.
    pub flags: i32,
    /// Mnemonic id.
    pub id: [u8; 16],
    /// Control number of the parent group, -1 for the root.
    pub parent: i32,
    /// Internal.
    pub dummy: i32,
    /// Must be passed back in `oss_mixer_value.timestamp`.
    pub timestamp: i32,
    /// Type-dependent data.
    pub data: [u8; 64],
    /// Bit mask of valid enum values.
    pub enum_present: [u8; 32],
    /// Legacy `SOUND_MIXER_*` channel, -1 if none.
    pub control_no: i32,
    /// Internal (`MIXEXT_SCOPE_*`).
    pub desc: u32,
    /// Extended name.
    pub extname: [u8; 32],
    /// Incremented when the value changes.
    pub update_counter: i32,
    /// Reserved, zero.
    pub filler: [i32; 7],
}
c_layout!(
    OssMixext,
    size = 220,
    tail_pad = 0,
    [
        dev,
        ctrl,
        r#type,
        maxvalue,
        minvalue,
        flags,
        id,
        parent,
        dummy,
        timestamp,
        data,
        enum_present,
        control_no,
        desc,
        extname,
        update_counter,
        filler,
    ]
);

/// C `oss_mixer_value` (`SNDCTL_MIX_READ`/`MIX_WRITE`), 52 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `dev` |
/// | 4 | `int` | `ctrl` |
/// | 8 | `int` | `value` |
/// | 12 | `int` | `flags` |
/// | 16 | `int` | `timestamp` |
/// | 20 | `int[8]` | `filler` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssMixerValue {
    /// Mixer number.
    pub dev: i32,
    /// Control number.
    pub ctrl: i32,
    /// Value.
    pub value: i32,
    /// Reserved, zero.
    pub flags: i32,
    /// `oss_mixext.timestamp` of the control.
    pub timestamp: i32,
    /// Reserved, zero.
    pub filler: [i32; 8],
}
c_layout!(
    OssMixerValue,
    size = 52,
    tail_pad = 0,
    [dev, ctrl, value, flags, timestamp, filler]
);

/// C `oss_mixer_enuminfo` (`SNDCTL_MIX_ENUMINFO`, `SNDCTL_DSP_GET_RECSRC_NAMES`,
/// `SNDCTL_DSP_GET_PLAYTGT_NAMES`), 3528 bytes.
///
/// | off | C type | field |
/// |----:|--------|-------|
/// | 0 | `int` | `dev` |
/// | 4 | `int` | `ctrl` |
/// | 8 | `int` | `nvalues` |
/// | 12 | `int` | `version` |
/// | 16 | `short[255]` | `strindex` |
/// | 526 | `char[3000]` | `strings` |
/// | 3526 | - | 2 bytes padding (struct aligned to 4) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OssMixerEnuminfo {
    /// Mixer number.
    pub dev: i32,
    /// Control number.
    pub ctrl: i32,
    /// Number of values.
    pub nvalues: i32,
    /// Changes when the list changes.
    pub version: i32,
    /// Offset into `strings` of each value's name.
    pub strindex: [i16; OSS_ENUM_MAXVALUE],
    /// NUL-terminated names, packed.
    pub strings: [u8; OSS_ENUM_STRINGSIZE],
}
c_layout!(
    OssMixerEnuminfo,
    size = 3528,
    tail_pad = 2,
    [dev, ctrl, nvalues, version, strindex, strings]
);

impl OssMixerEnuminfo {
    /// Replaces the value list with `names`: fills `nvalues`, `strindex` and
    /// `strings` (packed NUL-terminated strings, the rest zeroed). Returns
    /// `false`, leaving `self` unchanged, if there are more than
    /// [`OSS_ENUM_MAXVALUE`] names or they do not fit in `strings`.
    pub fn set_names(&mut self, names: &[&str]) -> bool {
        if names.len() > OSS_ENUM_MAXVALUE {
            return false;
        }
        let mut strindex = [0i16; OSS_ENUM_MAXVALUE];
        let mut strings = [0u8; OSS_ENUM_STRINGSIZE];
        let mut pos = 0usize;
        for (slot, name) in strindex.iter_mut().zip(names) {
            let end = pos + name.len();
            if end >= OSS_ENUM_STRINGSIZE {
                return false;
            }
            // `end` < 3000, so `pos` fits in an i16.
            *slot = pos as i16;
            strings[pos..end].copy_from_slice(name.as_bytes());
            pos = end + 1;
        }
        self.nvalues = names.len() as i32;
        self.strindex = strindex;
        self.strings = strings;
        true
    }

    /// Name of value `i` (`None` if `i >= nvalues` or the index is bad).
    pub fn name(&self, i: usize) -> Option<String> {
        if i >= usize::try_from(self.nvalues).ok()?.min(OSS_ENUM_MAXVALUE) {
            return None;
        }
        let start = usize::try_from(self.strindex[i]).ok()?;
        Some(cstr_to_string(self.strings.get(start..)?))
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Pins ioctl numbers to literal values.
    ///
    /// How the literals were obtained (once, on x86_64 Debian 12, gcc 12):
    /// * OSS 3 names: a C program including the installed
    ///   `/usr/include/linux/soundcard.h` printed each macro with `%08x`
    ///   (channels 17..24 through the header's `MIXER_READ`/`MIXER_WRITE`,
    ///   as Linux has no named macro for them).
    /// * OSS 4 names: a C program with the structs of FreeBSD's
    ///   `sys/sys/soundcard.h` transcribed by hand (4Front's `int` variant of
    ///   `audio_errinfo`), and the FreeBSD/4Front macro definitions applied
    ///   with Linux's `<linux/ioctl.h>` `_IO`/`_IOR`/`_IOW`/`_IOWR`; it also
    ///   printed `sizeof`/`offsetof`, used by the layout tests below.
    /// * Independently, the published Linux values 0x84e05801 (SYSINFO),
    ///   0xc49c5807 (AUDIOINFO), 0xc49c580c (ENGINEINFO), 0x80685019
    ///   (GETERROR), 0x80905024 (CURRENT_OPTR), 0x8008502a (GET_CHNORDER),
    ///   0x4004501e (COOKEDMODE), 0x4004502d (POLICY) seen in other OSS
    ///   emulations agree.
    macro_rules! pinned {
        ($($name:ident = $value:expr),* $(,)?) => {
            &[$((stringify!($name), $name, $value)),*]
        };
    }

    const PINNED: &[(&str, u32, u32)] = pinned![
        // OSS 3, /dev/dsp
        SNDCTL_DSP_RESET = 0x0000_5000,
        SNDCTL_DSP_SYNC = 0x0000_5001,
        SNDCTL_DSP_SPEED = 0xc004_5002,
        SNDCTL_DSP_STEREO = 0xc004_5003,
        SNDCTL_DSP_GETBLKSIZE = 0xc004_5004,
        SNDCTL_DSP_SAMPLESIZE = 0xc004_5005,
        SNDCTL_DSP_CHANNELS = 0xc004_5006,
        SOUND_PCM_WRITE_CHANNELS = 0xc004_5006,
        SOUND_PCM_WRITE_FILTER = 0xc004_5007,
        SNDCTL_DSP_POST = 0x0000_5008,
        SNDCTL_DSP_SUBDIVIDE = 0xc004_5009,
        SNDCTL_DSP_SETFRAGMENT = 0xc004_500a,
        SNDCTL_DSP_GETFMTS = 0x8004_500b,
        SNDCTL_DSP_SETFMT = 0xc004_5005,
        SNDCTL_DSP_GETOSPACE = 0x8010_500c,
        SNDCTL_DSP_GETISPACE = 0x8010_500d,
        SNDCTL_DSP_NONBLOCK = 0x0000_500e,
        SNDCTL_DSP_GETCAPS = 0x8004_500f,
        SNDCTL_DSP_GETTRIGGER = 0x8004_5010,
        SNDCTL_DSP_SETTRIGGER = 0x4004_5010,
        SNDCTL_DSP_GETIPTR = 0x800c_5011,
        SNDCTL_DSP_GETOPTR = 0x800c_5012,
        SNDCTL_DSP_SETSYNCRO = 0x0000_5015,
        SNDCTL_DSP_SETDUPLEX = 0x0000_5016,
        SNDCTL_DSP_GETODELAY = 0x8004_5017,
        SNDCTL_DSP_GETCHANNELMASK = 0xc004_5040,
        SNDCTL_DSP_BIND_CHANNEL = 0xc004_5041,
        SNDCTL_DSP_SETSPDIF = 0x4004_5042,
        SNDCTL_DSP_GETSPDIF = 0x8004_5043,
        SNDCTL_DSP_PROFILE = 0x4004_5017,
        SOUND_PCM_READ_RATE = 0x8004_5002,
        SOUND_PCM_READ_CHANNELS = 0x8004_5006,
        SOUND_PCM_READ_BITS = 0x8004_5005,
        SOUND_PCM_READ_FILTER = 0x8004_5007,
        SOUND_PCM_WRITE_BITS = 0xc004_5005,
        SOUND_PCM_WRITE_RATE = 0xc004_5002,
        SOUND_PCM_POST = 0x0000_5008,
        SOUND_PCM_RESET = 0x0000_5000,
        SOUND_PCM_SYNC = 0x0000_5001,
        SOUND_PCM_SUBDIVIDE = 0xc004_5009,
        SOUND_PCM_SETFRAGMENT = 0xc004_500a,
        SOUND_PCM_GETFMTS = 0x8004_500b,
        SOUND_PCM_SETFMT = 0xc004_5005,
        SOUND_PCM_GETOSPACE = 0x8010_500c,
        SOUND_PCM_GETISPACE = 0x8010_500d,
        SOUND_PCM_NONBLOCK = 0x0000_500e,
        SOUND_PCM_GETCAPS = 0x8004_500f,
        SOUND_PCM_GETTRIGGER = 0x8004_5010,
        SOUND_PCM_SETTRIGGER = 0x4004_5010,
        SOUND_PCM_SETSYNCRO = 0x0000_5015,
        SOUND_PCM_GETIPTR = 0x800c_5011,
        SOUND_PCM_GETOPTR = 0x800c_5012,
        // OSS 3, /dev/mixer
        SOUND_MIXER_READ_VOLUME = 0x8004_4d00,
        SOUND_MIXER_READ_BASS = 0x8004_4d01,
        SOUND_MIXER_READ_TREBLE = 0x8004_4d02,
        SOUND_MIXER_READ_SYNTH = 0x8004_4d03,
        SOUND_MIXER_READ_PCM = 0x8004_4d04,
        SOUND_MIXER_READ_SPEAKER = 0x8004_4d05,
        SOUND_MIXER_READ_LINE = 0x8004_4d06,
        SOUND_MIXER_READ_MIC = 0x8004_4d07,
        SOUND_MIXER_READ_CD = 0x8004_4d08,
        SOUND_MIXER_READ_IMIX = 0x8004_4d09,
        SOUND_MIXER_READ_ALTPCM = 0x8004_4d0a,
        SOUND_MIXER_READ_RECLEV = 0x8004_4d0b,
        SOUND_MIXER_READ_IGAIN = 0x8004_4d0c,
        SOUND_MIXER_READ_OGAIN = 0x8004_4d0d,
        SOUND_MIXER_READ_LINE1 = 0x8004_4d0e,
        SOUND_MIXER_READ_LINE2 = 0x8004_4d0f,
        SOUND_MIXER_READ_LINE3 = 0x8004_4d10,
        SOUND_MIXER_READ_DIGITAL1 = 0x8004_4d11,
        SOUND_MIXER_READ_MONITOR = 0x8004_4d18,
        SOUND_MIXER_READ_MUTE = 0x8004_4d1f,
        SOUND_MIXER_READ_ENHANCE = 0x8004_4d1f,
        SOUND_MIXER_READ_LOUD = 0x8004_4d1f,
        SOUND_MIXER_READ_RECSRC = 0x8004_4dff,
        SOUND_MIXER_READ_DEVMASK = 0x8004_4dfe,
        SOUND_MIXER_READ_RECMASK = 0x8004_4dfd,
        SOUND_MIXER_READ_STEREODEVS = 0x8004_4dfb,
        SOUND_MIXER_READ_CAPS = 0x8004_4dfc,
        SOUND_MIXER_WRITE_VOLUME = 0xc004_4d00,
        SOUND_MIXER_WRITE_BASS = 0xc004_4d01,
        SOUND_MIXER_WRITE_TREBLE = 0xc004_4d02,
        SOUND_MIXER_WRITE_SYNTH = 0xc004_4d03,
        SOUND_MIXER_WRITE_PCM = 0xc004_4d04,
        SOUND_MIXER_WRITE_SPEAKER = 0xc004_4d05,
        SOUND_MIXER_WRITE_LINE = 0xc004_4d06,
        SOUND_MIXER_WRITE_MIC = 0xc004_4d07,
        SOUND_MIXER_WRITE_CD = 0xc004_4d08,
        SOUND_MIXER_WRITE_IMIX = 0xc004_4d09,
        SOUND_MIXER_WRITE_ALTPCM = 0xc004_4d0a,
        SOUND_MIXER_WRITE_RECLEV = 0xc004_4d0b,
        SOUND_MIXER_WRITE_IGAIN = 0xc004_4d0c,
        SOUND_MIXER_WRITE_OGAIN = 0xc004_4d0d,
        SOUND_MIXER_WRITE_LINE1 = 0xc004_4d0e,
        SOUND_MIXER_WRITE_LINE2 = 0xc004_4d0f,
        SOUND_MIXER_WRITE_LINE3 = 0xc004_4d10,
        SOUND_MIXER_WRITE_DIGITAL1 = 0xc004_4d11,
        SOUND_MIXER_WRITE_MONITOR = 0xc004_4d18,
        SOUND_MIXER_WRITE_MUTE = 0xc004_4d1f,
        SOUND_MIXER_WRITE_ENHANCE = 0xc004_4d1f,
        SOUND_MIXER_WRITE_LOUD = 0xc004_4d1f,
        SOUND_MIXER_WRITE_RECSRC = 0xc004_4dff,
        SOUND_MIXER_INFO = 0x805c_4d65,
        SOUND_OLD_MIXER_INFO = 0x8030_4d65,
        SOUND_MIXER_ACCESS = 0xc080_4d66,
        SOUND_MIXER_AGC = 0xc004_4d67,
        SOUND_MIXER_3DSE = 0xc004_4d68,
        SOUND_MIXER_PRIVATE1 = 0xc004_4d6f,
        SOUND_MIXER_PRIVATE2 = 0xc004_4d70,
        SOUND_MIXER_PRIVATE3 = 0xc004_4d71,
        SOUND_MIXER_PRIVATE4 = 0xc004_4d72,
        SOUND_MIXER_PRIVATE5 = 0xc004_4d73,
        SOUND_MIXER_GETLEVELS = 0xc0a4_4d74,
        SOUND_MIXER_SETLEVELS = 0xc0a4_4d75,
        OSS_GETVERSION = 0x8004_4d76,
        // OSS 4, /dev/dsp
        SNDCTL_DSP_HALT = 0x0000_5000,
        SNDCTL_DSP_GETPLAYVOL = 0x8004_5018,
        SNDCTL_DSP_SETPLAYVOL = 0xc004_5018,
        SNDCTL_DSP_GETERROR = 0x8068_5019,
        SNDCTL_DSP_SYNCGROUP = 0xc048_501c,
        SNDCTL_DSP_SYNCSTART = 0x4004_501d,
        SNDCTL_DSP_COOKEDMODE = 0x4004_501e,
        SNDCTL_DSP_SILENCE = 0x0000_501f,
        SNDCTL_DSP_SKIP = 0x0000_5020,
        SNDCTL_DSP_HALT_INPUT = 0x0000_5021,
        SNDCTL_DSP_HALT_OUTPUT = 0x0000_5022,
        SNDCTL_DSP_LOW_WATER = 0x4004_5022,
        SNDCTL_DSP_CURRENT_IPTR = 0x8090_5023,
        SNDCTL_DSP_CURRENT_OPTR = 0x8090_5024,
        SNDCTL_DSP_CURRENT_IPTR_I386 = 0x808c_5023,
        SNDCTL_DSP_CURRENT_OPTR_I386 = 0x808c_5024,
        SNDCTL_DSP_GET_RECSRC_NAMES = 0x8dc8_5025,
        SNDCTL_DSP_GET_RECSRC = 0x8004_5026,
        SNDCTL_DSP_SET_RECSRC = 0xc004_5026,
        SNDCTL_DSP_GET_PLAYTGT_NAMES = 0x8dc8_5027,
        SNDCTL_DSP_GET_PLAYTGT = 0x8004_5028,
        SNDCTL_DSP_SET_PLAYTGT = 0xc004_5028,
        SNDCTL_DSP_GETRECVOL = 0x8004_5029,
        SNDCTL_DSP_SETRECVOL = 0xc004_5029,
        SNDCTL_DSP_GET_CHNORDER = 0x8008_502a,
        SNDCTL_DSP_SET_CHNORDER = 0xc008_502a,
        SNDCTL_DSP_GETIPEAKS = 0x8100_502b,
        SNDCTL_DSP_GETOPEAKS = 0x8100_502c,
        SNDCTL_DSP_POLICY = 0x4004_502d,
        // OSS 4, 'X' and 'Y'
        SNDCTL_SYSINFO = 0x84e0_5801,
        SNDCTL_MIX_NRMIX = 0x8004_5802,
        SNDCTL_MIX_NREXT = 0xc004_5803,
        SNDCTL_MIX_EXTINFO = 0xc0dc_5804,
        SNDCTL_MIX_READ = 0xc034_5805,
        SNDCTL_MIX_WRITE = 0xc034_5806,
        SNDCTL_AUDIOINFO = 0xc49c_5807,
        SNDCTL_MIX_ENUMINFO = 0xcdc8_5808,
        SNDCTL_MIDIINFO = 0xc4e8_5809,
        SNDCTL_MIXERINFO = 0xc470_580a,
        SNDCTL_CARDINFO = 0xc498_580b,
        SNDCTL_ENGINEINFO = 0xc49c_580c,
        SNDCTL_AUDIOINFO_EX = 0xc49c_580d,
        SNDCTL_MIX_DESCRIPTION = 0xcdc8_580e,
        SNDCTL_SETSONG = 0x4040_5902,
        SNDCTL_GETSONG = 0x8040_5902,
        SNDCTL_SETNAME = 0x4040_5903,
        SNDCTL_SETLABEL = 0x4010_5904,
        SNDCTL_GETLABEL = 0x8010_5904,
    ];

    #[test]
    fn ioctl_numbers_match_pinned_values() {
        assert!(PINNED.len() >= 40);
        let wrong: Vec<String> = PINNED
            .iter()
            .filter(|(_, ours, c)| ours != c)
            .map(|(name, ours, c)| format!("{name}: ours {ours:#010x}, C {c:#010x}"))
            .collect();
        assert!(
            wrong.is_empty(),
            "wrong ioctl numbers:\n{}",
            wrong.join("\n")
        );
    }

    #[cfg(target_pointer_width = "64")]
    #[test]
    fn mapbuf_numbers_on_64_bit() {
        // From the same C program (sizeof(buffmem_desc) == 16 on x86_64).
        assert_eq!(SNDCTL_DSP_MAPINBUF, 0x8010_5013);
        assert_eq!(SNDCTL_DSP_MAPOUTBUF, 0x8010_5014);
        assert_eq!(SOUND_PCM_MAPINBUF, 0x8010_5013);
        assert_eq!(SOUND_PCM_MAPOUTBUF, 0x8010_5014);
    }

    #[test]
    fn every_channel_has_its_read_and_write_number() {
        let named_reads = [
            SOUND_MIXER_READ_VOLUME,
            SOUND_MIXER_READ_BASS,
            SOUND_MIXER_READ_TREBLE,
            SOUND_MIXER_READ_SYNTH,
            SOUND_MIXER_READ_PCM,
            SOUND_MIXER_READ_SPEAKER,
            SOUND_MIXER_READ_LINE,
            SOUND_MIXER_READ_MIC,
            SOUND_MIXER_READ_CD,
            SOUND_MIXER_READ_IMIX,
            SOUND_MIXER_READ_ALTPCM,
            SOUND_MIXER_READ_RECLEV,
            SOUND_MIXER_READ_IGAIN,
            SOUND_MIXER_READ_OGAIN,
            SOUND_MIXER_READ_LINE1,
            SOUND_MIXER_READ_LINE2,
            SOUND_MIXER_READ_LINE3,
            SOUND_MIXER_READ_DIGITAL1,
            SOUND_MIXER_READ_DIGITAL2,
            SOUND_MIXER_READ_DIGITAL3,
            SOUND_MIXER_READ_PHONEIN,
            SOUND_MIXER_READ_PHONEOUT,
            SOUND_MIXER_READ_VIDEO,
            SOUND_MIXER_READ_RADIO,
            SOUND_MIXER_READ_MONITOR,
        ];
        let named_writes = [
            SOUND_MIXER_WRITE_VOLUME,
            SOUND_MIXER_WRITE_BASS,
            SOUND_MIXER_WRITE_TREBLE,
            SOUND_MIXER_WRITE_SYNTH,
            SOUND_MIXER_WRITE_PCM,
            SOUND_MIXER_WRITE_SPEAKER,
            SOUND_MIXER_WRITE_LINE,
            SOUND_MIXER_WRITE_MIC,
            SOUND_MIXER_WRITE_CD,
            SOUND_MIXER_WRITE_IMIX,
            SOUND_MIXER_WRITE_ALTPCM,
            SOUND_MIXER_WRITE_RECLEV,
            SOUND_MIXER_WRITE_IGAIN,
            SOUND_MIXER_WRITE_OGAIN,
            SOUND_MIXER_WRITE_LINE1,
            SOUND_MIXER_WRITE_LINE2,
            SOUND_MIXER_WRITE_LINE3,
            SOUND_MIXER_WRITE_DIGITAL1,
            SOUND_MIXER_WRITE_DIGITAL2,
            SOUND_MIXER_WRITE_DIGITAL3,
            SOUND_MIXER_WRITE_PHONEIN,
            SOUND_MIXER_WRITE_PHONEOUT,
            SOUND_MIXER_WRITE_VIDEO,
            SOUND_MIXER_WRITE_RADIO,
            SOUND_MIXER_WRITE_MONITOR,
        ];
        for ch in 0..SOUND_MIXER_NRDEVICES {
            let i = ch as usize;
            assert_eq!(named_reads[i], 0x8004_4d00 | ch, "read {ch}");
            assert_eq!(named_writes[i], 0xc004_4d00 | ch, "write {ch}");
            assert_eq!(ioc_nr(mixer_read(ch)), ch);
        }
        assert_eq!(SOUND_MASK_VOLUME, 1);
        assert_eq!(SOUND_MASK_PCM, 0x10);
        assert_eq!(SOUND_MASK_MONITOR, 1 << 24);
    }

    #[test]
    fn decoders_take_numbers_apart() {
        assert_eq!(ioc_dir(SNDCTL_DSP_SPEED), IOC_READ | IOC_WRITE);
        assert_eq!(ioc_dir(SNDCTL_DSP_GETOSPACE), IOC_READ);
        assert_eq!(ioc_dir(SNDCTL_DSP_SETTRIGGER), IOC_WRITE);
        assert_eq!(ioc_dir(SNDCTL_DSP_RESET), IOC_NONE);
        assert_eq!(ioc_type(SNDCTL_DSP_SPEED), u32::from(b'P'));
        assert_eq!(ioc_type(OSS_GETVERSION), u32::from(b'M'));
        assert_eq!(ioc_type(SNDCTL_SYSINFO), u32::from(b'X'));
        assert_eq!(ioc_type(SNDCTL_SETNAME), u32::from(b'Y'));
        assert_eq!(ioc_nr(SNDCTL_DSP_POLICY), 45);
        assert_eq!(ioc_size(SNDCTL_DSP_SPEED), 4);
        assert_eq!(ioc_size(SNDCTL_DSP_RESET), 0);
        for (_, cmd, _) in PINNED {
            let rebuilt = ioc(ioc_dir(*cmd), ioc_type(*cmd), ioc_nr(*cmd), ioc_size(*cmd));
            assert_eq!(rebuilt, *cmd);
        }
        assert_eq!(io(P, 0), ioc(IOC_NONE, P, 0, 0));
        assert_eq!(ior(P, 1, 2), 0x8002_5001);
        assert_eq!(iow(P, 1, 2), 0x4002_5001);
        assert_eq!(iowr(P, 1, 2), 0xc002_5001);
        assert_eq!(ioc(IOC_READ, 0xff, 0xff, (1 << 14) - 1), 0xbfff_ffff);
    }

    #[test]
    #[should_panic(expected = "ioctl size out of range")]
    fn ioc_rejects_oversized_argument() {
        let size = std::hint::black_box(1usize << 14);
        let _ = ior(P, 0, size);
    }

    /// SIZE of every struct equals the size its ioctl numbers encode (and the
    /// `sizeof` printed by the C program).
    #[test]
    fn struct_sizes_match_ioctl_sizes() {
        let checks: &[(&str, usize, u32, usize)] = &[
            ("AudioBufInfo", AudioBufInfo::SIZE, SNDCTL_DSP_GETOSPACE, 16),
            ("AudioBufInfo", AudioBufInfo::SIZE, SNDCTL_DSP_GETISPACE, 16),
            ("CountInfo", CountInfo::SIZE, SNDCTL_DSP_GETIPTR, 12),
            ("CountInfo", CountInfo::SIZE, SNDCTL_DSP_GETOPTR, 12),
            ("OssCount", OssCount::SIZE, SNDCTL_DSP_CURRENT_IPTR, 144),
            ("OssCount", OssCount::SIZE, SNDCTL_DSP_CURRENT_OPTR, 144),
            ("MixerInfo", MixerInfo::SIZE, SOUND_MIXER_INFO, 92),
            ("OldMixerInfo", OldMixerInfo::SIZE, SOUND_OLD_MIXER_INFO, 48),
            ("AudioErrInfo", AudioErrInfo::SIZE, SNDCTL_DSP_GETERROR, 104),
            ("OssSyncgroup", OssSyncgroup::SIZE, SNDCTL_DSP_SYNCGROUP, 72),
            ("OssSysinfo", OssSysinfo::SIZE, SNDCTL_SYSINFO, 1248),
            ("OssAudioinfo", OssAudioinfo::SIZE, SNDCTL_AUDIOINFO, 1180),
            (
                "OssAudioinfo",
                OssAudioinfo::SIZE,
                SNDCTL_AUDIOINFO_EX,
                1180,
            ),
            ("OssAudioinfo", OssAudioinfo::SIZE, SNDCTL_ENGINEINFO, 1180),
            ("OssMixerinfo", OssMixerinfo::SIZE, SNDCTL_MIXERINFO, 1136),
            ("OssCardInfo", OssCardInfo::SIZE, SNDCTL_CARDINFO, 1176),
            ("OssMixext", OssMixext::SIZE, SNDCTL_MIX_EXTINFO, 220),
            ("OssMixerValue", OssMixerValue::SIZE, SNDCTL_MIX_READ, 52),
            ("OssMixerValue", OssMixerValue::SIZE, SNDCTL_MIX_WRITE, 52),
            (
                "OssMixerEnuminfo",
                OssMixerEnuminfo::SIZE,
                SNDCTL_MIX_ENUMINFO,
                3528,
            ),
            (
                "OssMixerEnuminfo",
                OssMixerEnuminfo::SIZE,
                SNDCTL_DSP_GET_RECSRC_NAMES,
                3528,
            ),
            (
                "OssMixerEnuminfo",
                OssMixerEnuminfo::SIZE,
                SNDCTL_DSP_GET_PLAYTGT_NAMES,
                3528,
            ),
            ("OssLabel", OssLabel::SIZE, SNDCTL_SETLABEL, 16),
            ("OssLabel", OssLabel::SIZE, SNDCTL_GETLABEL, 16),
            ("OssLongname", OssLongname::SIZE, SNDCTL_SETNAME, 64),
            ("OssLongname", OssLongname::SIZE, SNDCTL_SETSONG, 64),
            ("OssLongname", OssLongname::SIZE, SNDCTL_GETSONG, 64),
            ("OssPeaks", OSS_PEAKS_SIZE, SNDCTL_DSP_GETOPEAKS, 256),
            (
                "BuffmemDesc",
                BuffmemDesc::SIZE,
                SNDCTL_DSP_MAPINBUF,
                2 * core::mem::size_of::<usize>(),
            ),
        ];
        for &(name, size, cmd, c_sizeof) in checks {
            assert_eq!(size, ioc_size(cmd), "{name} vs ioctl {cmd:#010x}");
            assert_eq!(size, c_sizeof, "{name} vs C sizeof");
        }
        assert_eq!(ioc_size(SNDCTL_MIDIINFO), OSS_MIDI_INFO_SIZE);
        assert_eq!(ioc_size(SNDCTL_DSP_GET_CHNORDER), 8);
    }

    /// Deterministic non-zero filler bytes.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8 | 1).collect()
    }

    /// `from_bytes(pattern).to_bytes()` gives the pattern back (with the
    /// given padding ranges zeroed), and short input is rejected.
    fn check_roundtrip<T, const N: usize>(
        from: fn(&[u8]) -> Option<T>,
        to: fn(&T) -> [u8; N],
        padding: Option<core::ops::Range<usize>>,
    ) {
        let mut bytes = pattern(N);
        if let Some(r) = padding {
            bytes[r].fill(0);
        }
        let value = from(&bytes).expect("decodes from SIZE bytes");
        assert_eq!(to(&value).as_slice(), bytes.as_slice());
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0xee; 8]);
        assert_eq!(
            to(&from(&longer).expect("decodes from more")).as_slice(),
            bytes.as_slice()
        );
        assert!(from(&bytes[..N - 1]).is_none());
        assert!(from(&[]).is_none());
    }

    #[test]
    fn byte_roundtrips_all_structs() {
        check_roundtrip(AudioBufInfo::from_bytes, AudioBufInfo::to_bytes, None);
        check_roundtrip(CountInfo::from_bytes, CountInfo::to_bytes, None);
        let ptr = core::mem::size_of::<usize>();
        check_roundtrip(
            BuffmemDesc::from_bytes,
            BuffmemDesc::to_bytes,
            Some(ptr + 4..2 * ptr),
        );
        check_roundtrip(OssCount::from_bytes, OssCount::to_bytes, Some(140..144));
        check_roundtrip(MixerInfo::from_bytes, MixerInfo::to_bytes, None);
        check_roundtrip(OldMixerInfo::from_bytes, OldMixerInfo::to_bytes, None);
        check_roundtrip(AudioErrInfo::from_bytes, AudioErrInfo::to_bytes, None);
        check_roundtrip(OssSyncgroup::from_bytes, OssSyncgroup::to_bytes, None);
        check_roundtrip(OssLabel::from_bytes, OssLabel::to_bytes, None);
        check_roundtrip(OssLongname::from_bytes, OssLongname::to_bytes, None);
        check_roundtrip(OssSysinfo::from_bytes, OssSysinfo::to_bytes, None);
        check_roundtrip(OssAudioinfo::from_bytes, OssAudioinfo::to_bytes, None);
        check_roundtrip(OssMixerinfo::from_bytes, OssMixerinfo::to_bytes, None);
        check_roundtrip(OssCardInfo::from_bytes, OssCardInfo::to_bytes, None);
        check_roundtrip(OssMixext::from_bytes, OssMixext::to_bytes, None);
        check_roundtrip(OssMixerValue::from_bytes, OssMixerValue::to_bytes, None);
        check_roundtrip(
            OssMixerEnuminfo::from_bytes,
            OssMixerEnuminfo::to_bytes,
            Some(3526..3528),
        );
    }

    #[test]
    fn value_roundtrips_and_field_encoding() {
        let info = AudioBufInfo {
            fragments: 3,
            fragstotal: 4,
            fragsize: 4096,
            bytes: -5,
        };
        let bytes = info.to_bytes();
        assert_eq!(&bytes[0..4], &3i32.to_ne_bytes());
        assert_eq!(&bytes[8..12], &4096i32.to_ne_bytes());
        assert_eq!(&bytes[12..16], &(-5i32).to_ne_bytes());
        assert_eq!(AudioBufInfo::from_bytes(&bytes), Some(info));

        let count = CountInfo {
            bytes: i32::MIN,
            blocks: 7,
            ptr: 1024,
        };
        assert_eq!(CountInfo::from_bytes(&count.to_bytes()), Some(count));

        let mut oc = OssCount {
            samples: 0x0123_4567_89ab_cdef,
            fifo_samples: 480,
            ..Default::default()
        };
        oc.filler[31] = -1;
        let b = oc.to_bytes();
        assert_eq!(&b[0..8], &0x0123_4567_89ab_cdef_i64.to_ne_bytes());
        assert_eq!(&b[8..12], &480i32.to_ne_bytes());
        assert_eq!(&b[136..140], &(-1i32).to_ne_bytes());
        assert_eq!(&b[140..144], &[0; 4]);
        assert_eq!(OssCount::from_bytes(&b), Some(oc));

        let mi = MixerInfo {
            id: cstr_array("ossd"),
            name: cstr_array("ossd software mixer"),
            modify_counter: 9,
            fillers: [0; 10],
        };
        let b = mi.to_bytes();
        assert_eq!(&b[0..5], b"ossd\0");
        assert_eq!(&b[48..52], &9i32.to_ne_bytes());
        assert_eq!(MixerInfo::from_bytes(&b), Some(mi));

        let err = AudioErrInfo {
            play_underruns: 2,
            rec_overruns: 1,
            play_errorparm: -7,
            ..Default::default()
        };
        let b = err.to_bytes();
        assert_eq!(&b[32..36], &(-7i32).to_ne_bytes());
        assert_eq!(AudioErrInfo::from_bytes(&b), Some(err));

        let sg = OssSyncgroup {
            id: 1,
            mode: PCM_ENABLE_OUTPUT as i32,
            filler: [0; 16],
        };
        assert_eq!(OssSyncgroup::from_bytes(&sg.to_bytes()), Some(sg));

        let desc = BuffmemDesc {
            buffer: 0xdead_beef,
            size: 65536,
        };
        assert_eq!(BuffmemDesc::from_bytes(&desc.to_bytes()), Some(desc));

        let label = OssLabel::new("front");
        assert_eq!(OssLabel::from_bytes(&label.to_bytes()), Some(label));
        assert_eq!(label.to_string_lossy(), "front");
        let name = OssLongname::new("mpv");
        assert_eq!(&name.to_bytes()[..4], b"mpv\0");
        assert_eq!(
            OssLongname::from_bytes(&name.to_bytes())
                .unwrap()
                .to_string_lossy(),
            "mpv"
        );

        let mut peaks: OssPeaks = [0; MAX_PEAK_CHANNELS];
        peaks[1] = 0x1234;
        let b = peaks_to_bytes(&peaks);
        assert_eq!(&b[2..4], &0x1234u16.to_ne_bytes());
    }

    /// Byte offset of the first occurrence of `marker` in `bytes`.
    fn find(bytes: &[u8], marker: &[u8]) -> Option<usize> {
        bytes.windows(marker.len()).position(|w| w == marker)
    }

    const MARK: i32 = 0x5aa5_c33c;
    const MARK_STR: &str = "\x7fMK";

    /// A C `offsetof` value and a setter that puts a marker ([`MARK`] or
    /// [`MARK_STR`]) into the field at that offset.
    type Probe<T> = (usize, fn(&mut T));

    /// Each probe's marker lands at its C offset in an otherwise zero struct.
    fn check_offsets<T: Default, const N: usize>(
        c_name: &str,
        to: fn(&T) -> [u8; N],
        probes: &[Probe<T>],
    ) {
        for (off, set) in probes {
            let mut v = T::default();
            set(&mut v);
            let b = to(&v);
            let at = find(&b, &MARK.to_ne_bytes()).or_else(|| find(&b, MARK_STR.as_bytes()));
            assert_eq!(at, Some(*off), "{c_name}: field expected at offset {off}");
        }
    }

    /// Field offsets agree with `offsetof` printed by the C program.
    #[test]
    fn field_offsets_match_c() {
        check_offsets(
            "oss_count_t",
            OssCount::to_bytes,
            &[(8, |v| v.fifo_samples = MARK), (12, |v| v.filler[0] = MARK)],
        );
        check_offsets(
            "oss_mixer_enuminfo",
            OssMixerEnuminfo::to_bytes,
            &[
                (16, |v| {
                    v.strindex[0] = i16::from_ne_bytes([0x7f, b'M']);
                    v.strindex[1] = i16::from_ne_bytes([b'K', 0]);
                }),
                (526, |v| set_cstr(&mut v.strings, MARK_STR)),
            ],
        );
        check_offsets(
            "oss_sysinfo",
            OssSysinfo::to_bytes,
            &[
                (64, |v| v.versionnum = MARK),
                (68, |v| set_cstr(&mut v.options, MARK_STR)),
                (196, |v| v.numaudios = MARK),
                (200, |v| v.openedaudio[0] = MARK),
                (244, |v| v.nummixers = MARK),
                (248, |v| v.openedmidi[0] = MARK),
                (280, |v| v.numcards = MARK),
                (284, |v| v.numaudioengines = MARK),
                (288, |v| set_cstr(&mut v.license, MARK_STR)),
                (304, |v| set_cstr(&mut v.revision_info, MARK_STR)),
                (560, |v| v.filler[0] = MARK),
            ],
        );
        check_offsets(
            "oss_mixext",
            OssMixext::to_bytes,
            &[
                (24, |v| set_cstr(&mut v.id, MARK_STR)),
                (40, |v| v.parent = MARK),
                (52, |v| set_cstr(&mut v.data, MARK_STR)),
                (116, |v| set_cstr(&mut v.enum_present, MARK_STR)),
                (148, |v| v.control_no = MARK),
                (152, |v| v.desc = MARK as u32),
                (156, |v| set_cstr(&mut v.extname, MARK_STR)),
                (188, |v| v.update_counter = MARK),
            ],
        );
        check_offsets(
            "oss_audioinfo",
            OssAudioinfo::to_bytes,
            &[
                (4, |v| set_cstr(&mut v.name, MARK_STR)),
                (68, |v| v.busy = MARK),
                (76, |v| v.caps = MARK),
                (80, |v| v.iformats = MARK),
                (84, |v| v.oformats = MARK),
                (88, |v| v.magic = MARK),
                (92, |v| set_cstr(&mut v.cmd, MARK_STR)),
                (156, |v| v.card_number = MARK),
                (168, |v| v.real_device = MARK),
                (180, |v| v.min_rate = MARK),
                (192, |v| v.max_channels = MARK),
                (196, |v| v.binding = MARK),
                (200, |v| v.rate_source = MARK),
                (204, |v| set_cstr(&mut v.handle, MARK_STR)),
                (236, |v| v.nrates = MARK as u32),
                (240, |v| v.rates[0] = MARK as u32),
                (320, |v| set_cstr(&mut v.song_name, MARK_STR)),
                (384, |v| set_cstr(&mut v.label, MARK_STR)),
                (400, |v| v.latency = MARK),
                (404, |v| set_cstr(&mut v.devnode, MARK_STR)),
                (436, |v| v.next_play_engine = MARK),
                (440, |v| v.next_rec_engine = MARK),
                (444, |v| v.filler[0] = MARK),
            ],
        );
        check_offsets(
            "oss_mixerinfo",
            OssMixerinfo::to_bytes,
            &[
                (4, |v| set_cstr(&mut v.id, MARK_STR)),
                (20, |v| set_cstr(&mut v.name, MARK_STR)),
                (52, |v| v.modify_counter = MARK),
                (64, |v| set_cstr(&mut v.handle, MARK_STR)),
                (96, |v| v.magic = MARK),
                (104, |v| v.caps = MARK),
                (112, |v| v.nrext = MARK),
                (116, |v| v.priority = MARK),
                (120, |v| v.filler[0] = MARK),
            ],
        );
        check_offsets(
            "oss_card_info",
            OssCardInfo::to_bytes,
            &[
                (4, |v| set_cstr(&mut v.shortname, MARK_STR)),
                (20, |v| set_cstr(&mut v.longname, MARK_STR)),
                (148, |v| v.flags = MARK),
                (152, |v| set_cstr(&mut v.hw_info, MARK_STR)),
                (552, |v| v.intr_count = MARK),
                (556, |v| v.ack_count = MARK),
                (560, |v| v.filler[0] = MARK),
            ],
        );
        check_offsets(
            "audio_errinfo",
            AudioErrInfo::to_bytes,
            &[
                (32, |v| v.play_errorparm = MARK),
                (40, |v| v.filler[0] = MARK),
            ],
        );
        check_offsets(
            "mixer_info",
            MixerInfo::to_bytes,
            &[
                (48, |v| v.modify_counter = MARK),
                (52, |v| v.fillers[0] = MARK),
            ],
        );
    }

    #[test]
    fn cstr_helpers() {
        let mut buf = [0xffu8; 8];
        set_cstr(&mut buf, "abc");
        assert_eq!(&buf, b"abc\0\0\0\0\0");
        set_cstr(&mut buf, "0123456789");
        assert_eq!(&buf, b"0123456\0");
        assert_eq!(cstr_bytes(&buf), b"0123456");
        assert_eq!(cstr_to_string(&buf), "0123456");
        // Truncation never splits a UTF-8 character.
        let mut buf = [0u8; 4];
        set_cstr(&mut buf, "aé€");
        assert_eq!(cstr_to_string(&buf), "aé");
        set_cstr(&mut [], "ignored");
        assert_eq!(cstr_bytes(b"no nul"), b"no nul");
        assert_eq!(cstr_to_string(b"\xff\0"), "\u{fffd}");
        let arr: [u8; 4] = cstr_array("xy");
        assert_eq!(&arr, b"xy\0\0");
    }

    #[test]
    fn enuminfo_names() {
        let mut e = OssMixerEnuminfo::default();
        assert!(e.set_names(&["front", "rear", ""]));
        assert_eq!(e.nvalues, 3);
        assert_eq!(&e.strindex[..3], &[0, 6, 11]);
        assert_eq!(&e.strings[..12], b"front\0rear\0\0");
        assert_eq!(e.name(1).as_deref(), Some("rear"));
        assert_eq!(e.name(2).as_deref(), Some(""));
        assert_eq!(e.name(3), None);
        let back = OssMixerEnuminfo::from_bytes(&e.to_bytes()).unwrap();
        assert_eq!(back.name(0).as_deref(), Some("front"));

        let too_many = vec!["x"; OSS_ENUM_MAXVALUE + 1];
        assert!(!e.set_names(&too_many));
        let long = "y".repeat(OSS_ENUM_STRINGSIZE);
        assert!(!e.set_names(&[long.as_str()]));
        assert_eq!(e.nvalues, 3, "unchanged after a failed set_names");
        let max = vec!["z"; OSS_ENUM_MAXVALUE];
        assert!(e.set_names(&max));
        assert_eq!(e.name(OSS_ENUM_MAXVALUE - 1).as_deref(), Some("z"));
    }

    #[test]
    fn constant_values() {
        assert_eq!(OSS_VERSION, 0x040100);
        assert_eq!(SOUND_VERSION, OSS_VERSION);
        assert_eq!(CHNORDER_NORMAL, 0x8765_4321);
        for ch in 0..8u64 {
            assert_eq!((CHNORDER_NORMAL >> (4 * ch)) & 0xf, ch + 1);
        }
        assert_eq!(CHNORDER_NORMAL & 0xf, CHID_L);
        assert_eq!((CHNORDER_NORMAL >> 28) & 0xf, CHID_RR);
        assert_eq!(PCM_CAP_INPUT | PCM_CAP_OUTPUT, 0x0003_0000);
        assert_eq!(
            DSP_CAP_ADMASK,
            DSP_CAP_ANALOGOUT | DSP_CAP_ANALOGIN | DSP_CAP_DIGITALOUT | DSP_CAP_DIGITALIN
        );
        assert_eq!(OPEN_READWRITE, 3);
        assert_eq!(SOUND_DEVICE_NAMES[SOUND_MIXER_PCM as usize], "pcm");
        assert_eq!(SOUND_DEVICE_LABELS[SOUND_MIXER_MONITOR as usize], "Monitor");
        assert_eq!(
            AFMT_S16_NE,
            if cfg!(target_endian = "little") {
                AFMT_S16_LE
            } else {
                AFMT_S16_BE
            }
        );
    }
}
