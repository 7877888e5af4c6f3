//! Fuzz target: `.dockerignore` patterns (comments, `!` exceptions, `**`,
//! path cleaning, Go's `filepath.Match` syntax). The input is the file, a
//! NUL, then context paths (one a line) to match against it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wharf_dockerfile::{path_match, Ignore};

fuzz_target!(|data: &[u8]| {
    let parts = wharf_fuzz::split(data, b"\0", 2);
    let Ok(patterns) = std::str::from_utf8(parts[0]) else {
        return;
    };
    let paths = parts
        .get(1)
        .and_then(|p| std::str::from_utf8(p).ok())
        .unwrap_or("a/b/c.txt\nnode_modules/x\n");
    let ig = Ignore::parse(patterns);
    for path in paths.lines().take(16) {
        let _ = ig.excludes(path);
        let _ = ig.may_include_below(path);
        for pat in patterns.lines().take(16) {
            let _ = path_match(pat, path);
        }
    }
});
