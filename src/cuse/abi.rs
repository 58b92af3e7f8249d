//! The FUSE/CUSE kernel ABI that a CUSE device speaks: opcodes, flags and the
//! sizes of the `#[repr(C)]` structs of `include/uapi/linux/fuse.h` (7.31).
//!
//! We never transmute: `wire.rs` reads and writes these layouts field by field
//! at the offsets documented here, so the sizes below are the whole contract,
//! and each is asserted against the C layout.

/// `FUSE_KERNEL_VERSION`: the kernel drops the connection on any other major.
pub const FUSE_KERNEL_VERSION: u32 = 7;
/// The minor version we answer CUSE_INIT with. The kernel needs >= 11; 31 is
/// what polyfuse-kernel 0.2 and Linux 5.x/6.x speak, and nothing we use is newer.
pub const FUSE_KERNEL_MINOR_VERSION: u32 = 31;

/// Opcodes a CUSE device receives (fs/fuse/cuse.c never sends the others).
pub mod opcode {
    pub const FUSE_OPEN: u32 = 14;
    pub const FUSE_READ: u32 = 15;
    pub const FUSE_WRITE: u32 = 16;
    pub const FUSE_RELEASE: u32 = 18;
    pub const FUSE_FSYNC: u32 = 20;
    pub const FUSE_FLUSH: u32 = 25;
    pub const FUSE_INTERRUPT: u32 = 36;
    pub const FUSE_IOCTL: u32 = 39;
    pub const FUSE_POLL: u32 = 40;
    pub const CUSE_INIT: u32 = 4096;
}

/// `cuse_init_in.flags` bit: the kernel offers unrestricted ioctls. We do not
/// take it: restricted mode decodes every OSS ioctl's size from its number.
pub const CUSE_UNRESTRICTED_IOCTL: u32 = 1;
/// `fuse_open_out.open_flags`: bypass the page cache (CUSE always does).
pub const FOPEN_DIRECT_IO: u32 = 1;
/// `fuse_open_out.open_flags`: the file is not seekable (a sound device).
pub const FOPEN_NONSEEKABLE: u32 = 4;
/// `fuse_poll_in.flags`: the kernel wants a notification when readiness changes.
pub const FUSE_POLL_SCHEDULE_NOTIFY: u32 = 1;
/// `fuse_out_header.error` of an unsolicited notification: poll wakeup.
pub const FUSE_NOTIFY_POLL: i32 = 1;
/// `fuse_ioctl_in.flags`: the ioctl came from a 32-bit process.
pub const FUSE_IOCTL_COMPAT: u32 = 1 << 0;
/// Largest errno the kernel accepts in a reply (`-ERESTARTSYS` is -512).
pub const MAX_ERRNO: i32 = 511;
/// Bytes the kernel puts in one WRITE request at most (32 pages).
pub const MAX_WRITE: u32 = 128 * 1024;
/// Bytes we ask for in one READ request at most.
pub const MAX_READ: u32 = 128 * 1024;
/// `FUSE_MIN_READ_BUFFER`.
pub const FUSE_MIN_READ_BUFFER: usize = 8192;
/// `CUSE_INIT_INFO_MAX`: room for the NUL-separated device info strings.
pub const CUSE_INIT_INFO_MAX: usize = 4096;

/// `struct fuse_in_header`: len u32, opcode u32, unique u64, nodeid u64,
/// uid u32, gid u32, pid u32, total_extlen u16, padding u16.
pub const IN_HEADER_SIZE: usize = 40;
/// `struct fuse_out_header`: len u32, error i32, unique u64.
pub const OUT_HEADER_SIZE: usize = 16;
/// `struct cuse_init_in`: major, minor, unused, flags (all u32).
pub const CUSE_INIT_IN_SIZE: usize = 16;
/// `struct cuse_init_out`: major, minor, unused, flags, max_read, max_write,
/// dev_major, dev_minor, `spare[10]` (all u32).
pub const CUSE_INIT_OUT_SIZE: usize = 72;
/// `struct fuse_open_in`: flags u32, open_flags u32.
pub const OPEN_IN_SIZE: usize = 8;
/// `struct fuse_open_out`: fh u64, open_flags u32, padding u32.
pub const OPEN_OUT_SIZE: usize = 16;
/// `struct fuse_read_in`: fh u64, offset u64, size u32, read_flags u32,
/// lock_owner u64, flags u32, padding u32.
pub const READ_IN_SIZE: usize = 40;
/// `struct fuse_write_in`: same layout as `fuse_read_in`; the data follows.
pub const WRITE_IN_SIZE: usize = 40;
/// `struct fuse_write_out`: size u32, padding u32.
pub const WRITE_OUT_SIZE: usize = 8;
/// `struct fuse_release_in`: fh u64, flags u32, release_flags u32, lock_owner u64.
pub const RELEASE_IN_SIZE: usize = 24;
/// `struct fuse_interrupt_in`: unique u64.
pub const INTERRUPT_IN_SIZE: usize = 8;
/// `struct fuse_ioctl_in`: fh u64, flags u32, cmd u32, arg u64, in_size u32,
/// out_size u32; `in_size` bytes of argument follow.
pub const IOCTL_IN_SIZE: usize = 32;
/// `struct fuse_ioctl_out`: result i32, flags u32, in_iovs u32, out_iovs u32.
pub const IOCTL_OUT_SIZE: usize = 16;
/// `struct fuse_poll_in`: fh u64, kh u64, flags u32, events u32.
pub const POLL_IN_SIZE: usize = 24;
/// `struct fuse_poll_out`: revents u32, padding u32.
pub const POLL_OUT_SIZE: usize = 8;
/// `struct fuse_notify_poll_wakeup_out`: kh u64.
pub const NOTIFY_POLL_WAKEUP_OUT_SIZE: usize = 8;

/// The read buffer one `read()` of /dev/cuse needs: the kernel refuses a
/// smaller one with EINVAL (`fuse_dev_do_read`).
pub const READ_BUFFER_SIZE: usize = {
    let need = IN_HEADER_SIZE + WRITE_IN_SIZE + MAX_WRITE as usize;
    if need > FUSE_MIN_READ_BUFFER {
        need + 4096
    } else {
        FUSE_MIN_READ_BUFFER
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The C layouts, spelled as `#[repr(C)]` structs only to let the compiler
    /// check our sizes (and so the offsets `wire.rs` uses) against the ABI.
    #[allow(dead_code)]
    mod c {
        #[repr(C)]
        pub struct InHeader(u32, u32, u64, u64, u32, u32, u32, u16, u16);
        #[repr(C)]
        pub struct OutHeader(u32, i32, u64);
        #[repr(C)]
        pub struct CuseInitOut(u32, u32, u32, u32, u32, u32, u32, u32, [u32; 10]);
        #[repr(C)]
        pub struct OpenOut(u64, u32, u32);
        #[repr(C)]
        pub struct ReadIn(u64, u64, u32, u32, u64, u32, u32);
        #[repr(C)]
        pub struct ReleaseIn(u64, u32, u32, u64);
        #[repr(C)]
        pub struct IoctlIn(u64, u32, u32, u64, u32, u32);
        #[repr(C)]
        pub struct IoctlOut(i32, u32, u32, u32);
        #[repr(C)]
        pub struct PollIn(u64, u64, u32, u32);
    }

    #[test]
    fn sizes_match_the_c_layouts() {
        use std::mem::size_of;
        assert_eq!(IN_HEADER_SIZE, size_of::<c::InHeader>());
        assert_eq!(OUT_HEADER_SIZE, size_of::<c::OutHeader>());
        assert_eq!(CUSE_INIT_OUT_SIZE, size_of::<c::CuseInitOut>());
        assert_eq!(OPEN_OUT_SIZE, size_of::<c::OpenOut>());
        assert_eq!(READ_IN_SIZE, size_of::<c::ReadIn>());
        assert_eq!(WRITE_IN_SIZE, size_of::<c::ReadIn>());
        assert_eq!(RELEASE_IN_SIZE, size_of::<c::ReleaseIn>());
        assert_eq!(IOCTL_IN_SIZE, size_of::<c::IoctlIn>());
        assert_eq!(IOCTL_OUT_SIZE, size_of::<c::IoctlOut>());
        assert_eq!(POLL_IN_SIZE, size_of::<c::PollIn>());
    }

    // The kernel refuses a read buffer smaller than this with EINVAL.
    const _: () = assert!(READ_BUFFER_SIZE >= FUSE_MIN_READ_BUFFER);
    const _: () = assert!(READ_BUFFER_SIZE >= 80 + MAX_WRITE as usize);
}
