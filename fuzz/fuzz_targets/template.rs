//! Fuzz target: Go templates as `--format` takes them (lexer, parser,
//! pipelines, range/with/if, functions) rendered against an
//! inspect-shaped value, and the list `table`/`json` format selector.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use wharf_format::{parse_list_format, Template};

fn data() -> &'static Value {
    static DATA: OnceLock<Value> = OnceLock::new();
    DATA.get_or_init(|| {
        json!({
            "ID": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "Names": "web",
            "Image": "busybox:latest",
            "Size": 1234567,
            "Ratio": 0.5,
            "Running": true,
            "Created": "2024-01-02T03:04:05.123456789Z",
            "Labels": {"a": "1", "com.example.b": "two"},
            "Mounts": [{"Source": "/src", "Destination": "/dst", "RW": false}],
            "Ports": [],
            "Config": {"Env": ["A=1", "B=2"], "Cmd": null, "Entrypoint": ["/bin/sh", "-c"]},
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}
        })
    })
}

fuzz_target!(|data_in: &[u8]| {
    let Ok(src) = std::str::from_utf8(data_in) else {
        return;
    };
    if let Ok(t) = Template::parse(src) {
        let mut out = Vec::new();
        let _ = t.render_to(data(), &mut out);
    }
    let _ = parse_list_format(Some(src), "table {{.ID}}\t{{.Names}}");
});
