//! Builds the clock shim (shim/clock.c, an LD_PRELOAD library the binary carries, see
//! src/clock_shim.rs) and the shim's test probe (shim/probe.c), both into OUT_DIR.
//!
//! `cc` only builds static archives, so this asks it for the C compiler (honouring CC, CFLAGS
//! and the target as usual) and runs the compiler itself.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let shim = manifest.join("shim");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=shim/clock.c");
    println!("cargo:rerun-if-changed=shim/probe.c");

    let so = out.join("libfaultline_clock.so");
    let probe = out.join("clock_probe");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        // The shim is Linux-only (raw Linux system calls); elsewhere the binary carries none
        // and `clock_shim::install` says so.
        std::fs::write(&so, []).expect("OUT_DIR is writable");
        println!("cargo:warning=the clock shim is Linux-only: this faultline carries none");
        println!("cargo:rustc-env=FAULTLINE_CLOCK_PROBE={}", probe.display());
        return;
    }

    compile(
        "the clock shim",
        &shim.join("clock.c"),
        &so,
        &["-shared", "-fPIC", "-fvisibility=hidden"],
    );
    compile(
        "the clock shim's test probe",
        &shim.join("probe.c"),
        &probe,
        &[],
    );
    println!("cargo:rustc-env=FAULTLINE_CLOCK_PROBE={}", probe.display());
}

/// Compiles one C file into `output` with `extra` flags, or fails the build saying why.
fn compile(what: &str, source: &Path, output: &Path, extra: &[&str]) {
    let compiler = cc::Build::new().get_compiler();
    let mut cmd = compiler.to_command();
    cmd.args(extra)
        .args(["-O2", "-Wall", "-Wextra", "-o"])
        .arg(output)
        .arg(source);
    let failed = match run(&mut cmd) {
        Ok(()) => return,
        Err(why) => why,
    };
    panic!(
        "\n\nfaultline's build could not compile {what} ({}): {failed}\n\
         command: {cmd:?}\n\
         It needs a C compiler for the target (gcc or clang; set CC to choose one) and the C \
         library's headers (Debian: apt-get install gcc libc6-dev).\n",
        source.display()
    );
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let output = cmd
        .output()
        .map_err(|e| format!("could not run the compiler: {e}"))?;
    if output.status.success() {
        // Warnings (-Wall -Wextra) show in cargo's output; they do not fail the build.
        for line in String::from_utf8_lossy(&output.stderr).lines() {
            println!("cargo:warning={line}");
        }
        return Ok(());
    }
    Err(format!(
        "the compiler failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
