//! Builds `ossd-run`'s preload library (preload/*.c, C: it must build for
//! i386 too, and there is no 32-bit Rust target here) with gcc, for
//! x86_64 and for i386 (`gcc -m32`, gcc-multilib), into one place whatever the
//! profile, laid out as the dynamic loader's `$LIB` expects:
//!
//! ```text
//! target/ossd-run/bin/ossd-run                          the wrapper script
//! target/ossd-run/lib/x86_64-linux-gnu/libossd-run.so   64-bit
//! target/ossd-run/lib32/libossd-run.so                  32-bit (Debian's libc6-i386: $LIB = lib32)
//! target/ossd-run/lib/i386-linux-gnu/libossd-run.so     32-bit (multiarch libc6:i386)
//! ```
//!
//! A build that fails (no gcc, no gcc-multilib) is a cargo warning, never a
//! failed Rust build: ossd itself does not need the library.

use std::path::{Path, PathBuf};
use std::process::Command;

const SOURCES: &str = "preload";
const SCRIPT: &str = "preload/ossd-run";

fn main() {
    println!("cargo:rerun-if-changed={SOURCES}");
    println!("cargo:rerun-if-changed={SCRIPT}");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|t| if t.is_absolute() { t } else { manifest.join(t) })
        .unwrap_or_else(|| manifest.join("target"));
    let root = target.join("ossd-run");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() != Ok("x86_64")
        || std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux")
    {
        println!("cargo:warning=ossd-run's library is built on x86_64 Linux only; skipped");
        return;
    }
    install(&manifest.join(SCRIPT), &root.join("bin/ossd-run"), 0o755);
    let sources = match c_files(&manifest.join(SOURCES)) {
        Ok(s) => s,
        Err(e) => {
            println!("cargo:warning=ossd-run's library: cannot list {SOURCES}: {e}");
            return;
        }
    };
    for (flag, dirs) in [
        ("-m64", &["lib/x86_64-linux-gnu"][..]),
        ("-m32", &["lib32", "lib/i386-linux-gnu"][..]),
    ] {
        let built = root.join(format!(".libossd-run{flag}.so"));
        match gcc(flag, &sources, &built) {
            Ok(()) => {
                for dir in dirs {
                    install(&built, &root.join(dir).join("libossd-run.so"), 0o755);
                }
            }
            Err(why) => println!(
                "cargo:warning=ossd-run's {flag} library was not built ({why}); \
                 programs of that kind run under ossd-run without mmap (apt-get install gcc gcc-multilib)"
            ),
        }
    }
}

/// The library's C files (its headers are found beside them), in a fixed order.
fn c_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "c") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// `gcc FLAG -shared` of the library into `out`. Only the C library's names
/// the library defines are exported (hidden visibility for the rest).
fn gcc(flag: &str, sources: &[PathBuf], out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out.parent().expect("in root")).map_err(|e| e.to_string())?;
    let result = Command::new("gcc")
        .args([
            flag,
            "-O2",
            "-g",
            "-Wall",
            "-Wextra",
            "-fPIC",
            "-fvisibility=hidden",
            "-shared",
            "-pthread",
        ])
        .arg("-o")
        .arg(out)
        .args(sources)
        .arg("-ldl")
        .output()
        .map_err(|e| format!("gcc: {e}"))?;
    if result.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&result.stderr);
        Err(format!(
            "gcc {flag} failed: {}",
            err.lines().next().unwrap_or("")
        ))
    }
}

/// Copies `from` to `to` (mode `mode`) through a temporary name, so that a
/// build running at the same time never sees half a file.
fn install(from: &Path, to: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let dir = to.parent().expect("a file in a directory");
    let tmp = dir.join(format!(
        ".{}.{}",
        to.file_name().expect("a file").to_string_lossy(),
        std::process::id()
    ));
    let done = std::fs::create_dir_all(dir)
        .and_then(|_| std::fs::copy(from, &tmp))
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(mode)))
        .and_then(|_| std::fs::rename(&tmp, to));
    if let Err(e) = done {
        println!("cargo:warning=could not install {}: {e}", to.display());
    }
}
